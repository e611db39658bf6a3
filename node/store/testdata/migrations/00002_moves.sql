-- +goose Up
CREATE TABLE moves (
    msgid  TEXT PRIMARY KEY,
    amount BIGINT NOT NULL
);
-- +goose Down
DROP TABLE moves;
