-- +goose Up
-- Monthly budget (总额预算 by month) of each designated institution, fen.
CREATE TABLE rpt_budget (
    fixmedins_code TEXT NOT NULL,
    period         TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    PRIMARY KEY (fixmedins_code, period)
);

-- Clearing payments to institutions (清算拨付) for a month's settlements;
-- id is the caller's idempotency key.
CREATE TABLE rpt_clearing (
    id             TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    period         TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    paid_on        TEXT NOT NULL
);
CREATE INDEX rpt_clearing_month ON rpt_clearing (fixmedins_code, period);

-- Generated monthly reports (the JSON document) per institution and month.
CREATE TABLE rpt_report (
    fixmedins_code TEXT NOT NULL,
    period         TEXT NOT NULL,
    generated      BIGINT NOT NULL,
    doc            TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, period)
);

-- The settlement-ledger rows each report was computed from.
CREATE TABLE rpt_source (
    fixmedins_code TEXT NOT NULL,
    period         TEXT NOT NULL,
    posting        TEXT NOT NULL,
    line           INTEGER NOT NULL,
    account        TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    setl_id        TEXT NOT NULL,
    created        BIGINT NOT NULL,
    PRIMARY KEY (fixmedins_code, period, posting, line)
);

-- +goose Down
DROP TABLE rpt_source;
DROP TABLE rpt_report;
DROP TABLE rpt_clearing;
DROP TABLE rpt_budget;
