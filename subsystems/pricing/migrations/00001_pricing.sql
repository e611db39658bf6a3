-- +goose Up
-- Service item prices (医疗服务项目价格) per hospital level, one row per
-- version: in force on days in [valid_from, valid_to) (valid_to '' while
-- open). audit_seq/audit_hash name the audit-chain record of the change.
CREATE TABLE prc_price (
    item_code  TEXT NOT NULL,
    level      INTEGER NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to   TEXT NOT NULL,
    item_name  TEXT NOT NULL,
    unit       TEXT NOT NULL,
    price      BIGINT NOT NULL,
    operator   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    audit_seq  BIGINT NOT NULL,
    audit_hash TEXT NOT NULL,
    created    BIGINT NOT NULL,
    PRIMARY KEY (item_code, level, valid_from)
);

-- Settled fee lines charged above the price in force, per settlement
-- month (a run replaces the month's rows).
CREATE TABLE prc_overcharge (
    period     TEXT NOT NULL,
    setl_id    TEXT NOT NULL,
    feedetl_sn TEXT NOT NULL,
    fixmedins  TEXT NOT NULL,
    item_code  TEXT NOT NULL,
    level      INTEGER NOT NULL,
    fee_date   TEXT NOT NULL,
    qty        BIGINT NOT NULL,
    price      BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    listed     BIGINT NOT NULL,
    excess     BIGINT NOT NULL,
    PRIMARY KEY (period, setl_id, feedetl_sn)
);

-- Procurement (招采): tenders, their winning products, orders from
-- institutions, deliveries accepted and payments to suppliers. ids are
-- the callers' idempotency keys; amounts in fen.
CREATE TABLE prc_tender (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    category   TEXT NOT NULL,
    opened     TEXT NOT NULL,
    audit_seq  BIGINT NOT NULL,
    audit_hash TEXT NOT NULL
);
CREATE TABLE prc_award (
    tender_id    TEXT NOT NULL,
    product_code TEXT NOT NULL,
    product_name TEXT NOT NULL,
    supplier     TEXT NOT NULL,
    price        BIGINT NOT NULL,
    audit_seq    BIGINT NOT NULL,
    audit_hash   TEXT NOT NULL,
    PRIMARY KEY (tender_id, product_code)
);
CREATE TABLE prc_order (
    id           TEXT PRIMARY KEY,
    fixmedins    TEXT NOT NULL,
    tender_id    TEXT NOT NULL,
    product_code TEXT NOT NULL,
    supplier     TEXT NOT NULL,
    qty          BIGINT NOT NULL,
    price        BIGINT NOT NULL,
    amount       BIGINT NOT NULL,
    ordered      TEXT NOT NULL,
    audit_seq    BIGINT NOT NULL,
    audit_hash   TEXT NOT NULL
);
CREATE TABLE prc_delivery (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    qty        BIGINT NOT NULL,
    amount     BIGINT NOT NULL,
    accepted   TEXT NOT NULL,
    due        TEXT NOT NULL,
    audit_seq  BIGINT NOT NULL,
    audit_hash TEXT NOT NULL
);
CREATE INDEX prc_delivery_order ON prc_delivery (order_id);
CREATE TABLE prc_payment (
    id          TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    paid        TEXT NOT NULL,
    audit_seq   BIGINT NOT NULL,
    audit_hash  TEXT NOT NULL
);
CREATE INDEX prc_payment_delivery ON prc_payment (delivery_id);

-- Province side: summaries sent up, until the national node accepts
-- them. id is kind/admdvs/period.
CREATE TABLE prc_out (
    id          TEXT PRIMARY KEY,
    revision    BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL,
    last_error  TEXT NOT NULL,
    made_us     BIGINT NOT NULL,
    accepted_us BIGINT NOT NULL
);

-- National side: one row per submission whatever the number of copies,
-- and the submitted prices per province, item and level.
CREATE TABLE prc_in (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    admdvs     TEXT NOT NULL,
    period     TEXT NOT NULL,
    revision   BIGINT NOT NULL,
    digest     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    first_us   BIGINT NOT NULL,
    last_us    BIGINT NOT NULL,
    duplicates BIGINT NOT NULL
);
CREATE TABLE prc_in_price (
    period    TEXT NOT NULL,
    admdvs    TEXT NOT NULL,
    item_code TEXT NOT NULL,
    level     INTEGER NOT NULL,
    item_name TEXT NOT NULL,
    price     BIGINT NOT NULL,
    PRIMARY KEY (period, item_code, level, admdvs)
);

-- +goose Down
DROP TABLE prc_in_price;
DROP TABLE prc_in;
DROP TABLE prc_out;
DROP TABLE prc_payment;
DROP TABLE prc_delivery;
DROP TABLE prc_order;
DROP TABLE prc_award;
DROP TABLE prc_tender;
DROP TABLE prc_overcharge;
DROP TABLE prc_price;
