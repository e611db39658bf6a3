-- +goose Up
-- Operators known to internal control: own_subject is the operator's own
-- insured-person number (or other record key) for the self-record rule.
CREATE TABLE ic_operator (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    own_subject TEXT NOT NULL,
    updated_us  BIGINT NOT NULL
);

-- Operator actions as recorded in process; audit_seq is the record in the
-- node's hash-chained audit log.
CREATE TABLE ic_action (
    seq        BIGINT PRIMARY KEY,
    operator   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    object     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    rows_n     BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    detail     TEXT NOT NULL,
    at_us      BIGINT NOT NULL,
    audit_seq  BIGINT NOT NULL
);
CREATE INDEX ic_action_operator ON ic_action (operator, at_us);
CREATE INDEX ic_action_at ON ic_action (at_us);

-- Risk findings of the after-the-fact review, idempotent by id.
CREATE TABLE ic_finding (
    id         TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    operator   TEXT NOT NULL,
    severity   TEXT NOT NULL,
    summary    TEXT NOT NULL,
    actions    TEXT NOT NULL,
    status     TEXT NOT NULL,
    reviewer   TEXT NOT NULL,
    note       TEXT NOT NULL,
    found_us   BIGINT NOT NULL,
    decided_us BIGINT NOT NULL
);
CREATE INDEX ic_finding_status ON ic_finding (status, found_us);

-- Four-eyes approvals of sensitive actions.
CREATE TABLE ic_approval (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    object      TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    requester   TEXT NOT NULL,
    approver    TEXT NOT NULL,
    executor    TEXT NOT NULL,
    status      TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    expires_us  BIGINT NOT NULL,
    decided_us  BIGINT NOT NULL,
    executed_us BIGINT NOT NULL
);
CREATE INDEX ic_approval_status ON ic_approval (status, created_us);

-- +goose Down
DROP TABLE ic_approval;
DROP TABLE ic_finding;
DROP TABLE ic_action;
DROP TABLE ic_operator;
