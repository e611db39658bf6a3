-- +goose Up
-- Province side: submissions made here, until the national node accepts
-- them. id is kind/admdvs/period.
CREATE TABLE rpt_out (
    id          TEXT PRIMARY KEY,
    revision    BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL,
    last_error  TEXT NOT NULL,
    made_us     BIGINT NOT NULL,
    accepted_us BIGINT NOT NULL
);
CREATE INDEX rpt_out_status ON rpt_out (status, made_us);

-- National side: one row per submission, whatever the number of copies.
CREATE TABLE rpt_in (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    admdvs      TEXT NOT NULL,
    period      TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    digest      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    first_us    BIGINT NOT NULL,
    last_us     BIGINT NOT NULL,
    late        BIGINT NOT NULL,
    duplicates  BIGINT NOT NULL
);
CREATE INDEX rpt_in_period ON rpt_in (kind, period);

-- +goose Down
DROP TABLE rpt_in;
DROP TABLE rpt_out;
