-- +goose Up
-- Province side: the last period of each kind the schedule computed and
-- submitted; the next run starts after it (catching up after downtime).
CREATE TABLE rpt_sched (
    kind       TEXT PRIMARY KEY,
    period     TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);

-- +goose Down
DROP TABLE rpt_sched;
