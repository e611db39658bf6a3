-- +goose Up
CREATE TABLE work (id TEXT PRIMARY KEY);
-- +goose Down
DROP TABLE work;
