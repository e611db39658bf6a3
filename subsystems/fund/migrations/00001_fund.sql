-- +goose Up
-- Fund accounts (基金账户), one per insurance type (310 employee, 390
-- resident, ...): the fund_pay_types of the settlement ledger that start
-- with the insurance type are its expenditure. opening is the balance
-- brought forward at the start of period opened (YYYY-MM), in fen.
CREATE TABLE fnd_account (
    insutype TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    opened   TEXT NOT NULL,
    opening  BIGINT NOT NULL,
    created  BIGINT NOT NULL
);

-- Expenditure budget per account and month, in fen; a new budget for the
-- same month replaces the old one (the audit log keeps both).
CREATE TABLE fnd_budget (
    insutype   TEXT NOT NULL,
    period     TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    audit_seq  BIGINT NOT NULL,
    audit_hash TEXT NOT NULL,
    PRIMARY KEY (insutype, period)
);

-- Income (contributions 征缴收入, interest, subsidies) recorded through the
-- API; id is the caller's idempotency key. audit_seq/audit_hash name the
-- audit-chain record written when it was recorded.
CREATE TABLE fnd_income (
    id         TEXT PRIMARY KEY,
    insutype   TEXT NOT NULL,
    period     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payer      TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    audit_seq  BIGINT NOT NULL,
    audit_hash TEXT NOT NULL,
    created    BIGINT NOT NULL
);
CREATE INDEX fnd_income_period ON fnd_income (insutype, period);

-- +goose Down
DROP TABLE fnd_income;
DROP TABLE fnd_budget;
DROP TABLE fnd_account;
