-- +goose Up
-- Hospitals (定点医药机构) allowed to call the hospital API, with the SM2
-- public key their requests are signed with.
CREATE TABLE stl_hospital (
    fixmedins_code TEXT PRIMARY KEY,
    fixmedins_name TEXT NOT NULL,
    admdvs         TEXT NOT NULL,
    medins_lv      INTEGER NOT NULL,
    pubkey         TEXT NOT NULL,
    active         INTEGER NOT NULL
);

-- Insured persons of this node. pii holds the SM4-GCM encrypted name and
-- certificate number; certno_bidx is the blind index used to find them.
CREATE TABLE stl_person (
    psn_no         TEXT PRIMARY KEY,
    certno_bidx    TEXT NOT NULL,
    insuplc_admdvs TEXT NOT NULL,
    pii            TEXT NOT NULL,
    doc            TEXT NOT NULL
);
CREATE INDEX stl_person_certno ON stl_person (certno_bidx);

-- Yearly accumulators per person and insurance type (5206).
CREATE TABLE stl_accum (
    psn_no   TEXT NOT NULL,
    insutype TEXT NOT NULL,
    year     INTEGER NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (psn_no, insutype)
);

-- Filings: referral 2501, chronic disease 2503, cross-province (异地就医备案).
CREATE TABLE stl_filing (
    sn       TEXT PRIMARY KEY,
    psn_no   TEXT NOT NULL,
    kind     TEXT NOT NULL,
    active   INTEGER NOT NULL,
    doc      TEXT NOT NULL
);
CREATE INDEX stl_filing_psn ON stl_filing (psn_no);

-- Visits (就诊) registered by 2201 and 2401 at the treatment place.
CREATE TABLE stl_visit (
    mdtrt_id       TEXT PRIMARY KEY,
    psn_no         TEXT NOT NULL,
    insutype       TEXT NOT NULL,
    med_type       TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    insuplc_admdvs TEXT NOT NULL,
    inpatient      INTEGER NOT NULL,
    status         TEXT NOT NULL,
    doc            TEXT NOT NULL
);

-- Fee details (2204/2301) priced on this node's catalogue.
CREATE TABLE stl_fee (
    mdtrt_id    TEXT NOT NULL,
    feedetl_sn  TEXT NOT NULL,
    chrg_bchno  TEXT NOT NULL,
    status      TEXT NOT NULL,
    setl_id     TEXT NOT NULL,
    medfee      BIGINT NOT NULL,
    fulamt      BIGINT NOT NULL,
    overlmt     BIGINT NOT NULL,
    preselfpay  BIGINT NOT NULL,
    inscp       BIGINT NOT NULL,
    line        TEXT NOT NULL,
    PRIMARY KEY (mdtrt_id, feedetl_sn)
);

-- Settlements. role: local (treated and insured here), treatment (insured
-- elsewhere, routed), insured (treated elsewhere, routed to us).
CREATE TABLE stl_setl (
    setl_id         TEXT PRIMARY KEY,
    msgid           TEXT NOT NULL UNIQUE,
    infno           TEXT NOT NULL,
    role            TEXT NOT NULL,
    mdtrt_id        TEXT NOT NULL,
    psn_no          TEXT NOT NULL,
    insutype        TEXT NOT NULL,
    fixmedins_code  TEXT NOT NULL,
    mdtrtarea_admvs TEXT NOT NULL,
    insuplc_admdvs  TEXT NOT NULL,
    setl_time       TEXT NOT NULL,
    medfee          BIGINT NOT NULL,
    fund_pay        BIGINT NOT NULL,
    acct_pay        BIGINT NOT NULL,
    cash_pay        BIGINT NOT NULL,
    hosp_part       BIGINT NOT NULL,
    status          TEXT NOT NULL,
    undo_msgid      TEXT NOT NULL,
    delta           TEXT NOT NULL,
    result          TEXT NOT NULL
);
CREATE INDEX stl_setl_visit ON stl_setl (mdtrt_id);
CREATE INDEX stl_setl_time ON stl_setl (fixmedins_code, setl_time);

-- Message journal: the stored answer of every msgid that changed state, and
-- tombstones of msgids reversed (2601) before they arrived.
CREATE TABLE stl_msg (
    msgid          TEXT PRIMARY KEY,
    infno          TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    status         TEXT NOT NULL,
    response       TEXT NOT NULL,
    created        BIGINT NOT NULL
);

-- Double-entry fund ledger: every posting's lines sum to zero
-- (amount > 0 debit, < 0 credit), in fen.
CREATE TABLE stl_ledger (
    posting  TEXT NOT NULL,
    line     INTEGER NOT NULL,
    account  TEXT NOT NULL,
    amount   BIGINT NOT NULL,
    setl_id  TEXT NOT NULL,
    created  BIGINT NOT NULL,
    PRIMARY KEY (posting, line)
);
CREATE INDEX stl_ledger_account ON stl_ledger (account);

-- Outbox of routed transactions sent by this node as the treatment place:
-- pending until answered; an unknown outcome becomes reversing until the
-- reversal is acknowledged.
CREATE TABLE stl_route (
    msgid          TEXT PRIMARY KEY,
    infno          TEXT NOT NULL,
    dest           TEXT NOT NULL,
    psn_no         TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    status   TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    updated  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE stl_route;
DROP TABLE stl_ledger;
DROP TABLE stl_msg;
DROP TABLE stl_setl;
DROP TABLE stl_fee;
DROP TABLE stl_visit;
DROP TABLE stl_filing;
DROP TABLE stl_accum;
DROP TABLE stl_person;
DROP TABLE stl_hospital;
