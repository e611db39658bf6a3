-- +goose Up
-- The hub's journal of routed transactions, by the hospital's msgid.
-- status: pending (forwarded, no answer yet), done (reply stored),
-- reversing (to be reversed at the insured node), reversed, failed
-- (the insured node refused the reversal; see reply).
CREATE TABLE hub_journal (
    msgid          TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    infno          TEXT NOT NULL,
    treatment      TEXT NOT NULL,
    insuplc        TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    psn_no         TEXT NOT NULL,
    status         TEXT NOT NULL,
    reply          TEXT NOT NULL,
    updated        BIGINT NOT NULL
);
CREATE INDEX hub_journal_status ON hub_journal (status);

-- The clearing journal: what each settled cross-province transaction
-- makes the insured province owe the treatment province.
CREATE TABLE hub_clearing (
    msgid     TEXT PRIMARY KEY,
    setl_id   TEXT NOT NULL,
    month     TEXT NOT NULL,
    treatment TEXT NOT NULL,
    insuplc   TEXT NOT NULL,
    fund_pay  BIGINT NOT NULL,
    acct_pay  BIGINT NOT NULL,
    status    TEXT NOT NULL
);
CREATE INDEX hub_clearing_month ON hub_clearing (month);

-- Prepaid funds (预付金) deposited by an insured province with a
-- treatment province through the national agency.
CREATE TABLE hub_prepaid (
    payer  TEXT NOT NULL,
    payee  TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (payer, payee)
);

-- Signed monthly clearing statements, one per province.
CREATE TABLE hub_statement (
    month    TEXT NOT NULL,
    province TEXT NOT NULL,
    envelope TEXT NOT NULL,
    PRIMARY KEY (month, province)
);

-- +goose Down
DROP TABLE hub_statement;
DROP TABLE hub_prepaid;
DROP TABLE hub_clearing;
DROP TABLE hub_journal;
