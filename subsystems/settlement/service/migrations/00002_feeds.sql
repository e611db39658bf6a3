-- +goose Up
-- Inpatient settlements waiting to reach the payment subsystem (DRG/DIP
-- grouping): one row per settlement whose state changed (settled,
-- cancelled, reversed). gen counts the changes, so that acknowledging an
-- older state leaves a newer change queued.
CREATE TABLE stl_case_feed (
    setl_id TEXT PRIMARY KEY,
    gen     BIGINT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX stl_case_feed_created ON stl_case_feed (created, setl_id);

-- Recoveries of confirmed supervision findings: which settlement the
-- posting takes fund payment back from.
CREATE TABLE stl_recovery (
    posting        TEXT PRIMARY KEY,
    setl_id        TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    created        BIGINT NOT NULL
);
CREATE INDEX stl_recovery_setl ON stl_recovery (setl_id);

-- +goose Down
DROP TABLE stl_recovery;
DROP TABLE stl_case_feed;
