-- +goose Up
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    time_us   BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
-- +goose Down
DROP TABLE audit_log;
