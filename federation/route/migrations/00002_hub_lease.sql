-- +goose Up
-- Leases of hub-side jobs that more than one national node sharing this
-- database could run (the periodic reversal sweep, a month's clearing):
-- the holder (a national node's name) runs the job until expires (Unix
-- milliseconds); another node takes the lease over once it has expired.
CREATE TABLE hub_lease (
    job     TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    expires BIGINT NOT NULL
);

-- +goose Down
DROP TABLE hub_lease;
