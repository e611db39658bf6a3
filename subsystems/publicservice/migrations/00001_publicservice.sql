-- +goose Up
-- Policy notices: published on the national node (origin 100000) or by
-- the province itself; provinces copy the national ones by seq.
CREATE TABLE ps_notice (
    id         TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    origin     TEXT NOT NULL,
    scope      TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    begndate   TEXT NOT NULL,
    enddate    TEXT NOT NULL,
    published_us BIGINT NOT NULL
);
CREATE INDEX ps_notice_seq ON ps_notice (origin, seq);

-- Cross-province medical filings submitted online by insured persons.
-- psn_no is the register's person number; no PII is kept here.
CREATE TABLE ps_filing (
    id         TEXT PRIMARY KEY,
    psn_no     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    admdvs     TEXT NOT NULL,
    begndate   TEXT NOT NULL,
    enddate    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX ps_filing_psn ON ps_filing (psn_no, status);

-- +goose Down
DROP TABLE ps_filing;
DROP TABLE ps_notice;
