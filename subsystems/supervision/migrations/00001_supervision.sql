-- +goose Up
-- Inpatient stays seen by this node, for the re-admission rule.
CREATE TABLE sup_episode (
    setl_id        TEXT PRIMARY KEY,
    psn_no         TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    adm_date       INTEGER NOT NULL,
    dscg_date      INTEGER NOT NULL,
    main_diag      TEXT NOT NULL
);
CREATE INDEX sup_episode_psn ON sup_episode (psn_no, dscg_date);

-- Findings of post-settlement runs with their review status.
CREATE TABLE sup_finding (
    id             TEXT PRIMARY KEY,
    rule_id        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    severity       TEXT NOT NULL,
    setl_id        TEXT NOT NULL,
    mdtrt_id       TEXT NOT NULL,
    psn_no         TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    period         TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    status         TEXT NOT NULL,
    recovered      BIGINT NOT NULL,
    version        TEXT NOT NULL,
    doc            TEXT NOT NULL,
    created        BIGINT NOT NULL,
    updated        BIGINT NOT NULL
);
CREATE INDEX sup_finding_status ON sup_finding (status, fixmedins_code);
CREATE INDEX sup_finding_period ON sup_finding (period, fixmedins_code);

-- Every status change with its operator.
CREATE TABLE sup_finding_event (
    finding_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    operator    TEXT NOT NULL,
    note        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (finding_id, seq)
);

-- Recovered amounts as balanced postings for the ledger (outbox).
CREATE TABLE sup_recovery (
    posting        TEXT PRIMARY KEY,
    finding_id     TEXT NOT NULL UNIQUE,
    fixmedins_code TEXT NOT NULL,
    setl_id        TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    lines          TEXT NOT NULL,
    status         TEXT NOT NULL,
    created        BIGINT NOT NULL,
    posted         BIGINT NOT NULL
);

-- Batch runs.
CREATE TABLE sup_run (
    id       TEXT PRIMARY KEY,
    period   TEXT NOT NULL,
    version  TEXT NOT NULL,
    bills    BIGINT NOT NULL,
    lines    BIGINT NOT NULL,
    findings BIGINT NOT NULL,
    added    BIGINT NOT NULL,
    started  BIGINT NOT NULL,
    finished BIGINT NOT NULL
);

-- +goose Down
DROP TABLE sup_run;
DROP TABLE sup_recovery;
DROP TABLE sup_finding_event;
DROP TABLE sup_finding;
DROP TABLE sup_episode;
