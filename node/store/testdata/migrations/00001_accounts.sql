-- +goose Up
CREATE TABLE accounts (
    id      TEXT PRIMARY KEY,
    balance BIGINT NOT NULL,
    note    BYTEA
);
-- +goose Down
DROP TABLE accounts;
