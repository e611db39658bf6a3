-- +goose Up
-- Inpatient settlements recorded for DRG/DIP payment, with their groups
-- under the table versions in force when recorded.
CREATE TABLE pay_case (
    setl_id        TEXT PRIMARY KEY,
    period         TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    medins_lv      INTEGER NOT NULL,
    drg            TEXT NOT NULL,
    drg_weight     BIGINT NOT NULL,
    drg_version    TEXT NOT NULL,
    dip            TEXT NOT NULL,
    dip_points     BIGINT NOT NULL,
    dip_version    TEXT NOT NULL,
    medfee         BIGINT NOT NULL,
    fund_item      BIGINT NOT NULL,
    doc            TEXT NOT NULL
);
CREATE INDEX pay_case_period ON pay_case (period, fixmedins_code);

-- One settled period per method: the rate or point value used.
CREATE TABLE pay_period (
    period       TEXT NOT NULL,
    method       TEXT NOT NULL,
    budget       BIGINT NOT NULL,
    rate         BIGINT NOT NULL,
    total_weight BIGINT NOT NULL,
    cases        BIGINT NOT NULL,
    fund_pay     BIGINT NOT NULL,
    params       TEXT NOT NULL,
    settled      BIGINT NOT NULL,
    PRIMARY KEY (period, method)
);

-- Per-hospital monthly results.
CREATE TABLE pay_result (
    period         TEXT NOT NULL,
    method         TEXT NOT NULL,
    fixmedins_code TEXT NOT NULL,
    cases          BIGINT NOT NULL,
    outliers       BIGINT NOT NULL,
    weight         BIGINT NOT NULL,
    medfee         BIGINT NOT NULL,
    fund_item      BIGINT NOT NULL,
    standard       BIGINT NOT NULL,
    fund_pay       BIGINT NOT NULL,
    diff           BIGINT NOT NULL,
    balance        BIGINT NOT NULL,
    PRIMARY KEY (period, method, fixmedins_code)
);

-- Per-case payments of a settled period.
CREATE TABLE pay_case_result (
    period   TEXT NOT NULL,
    method   TEXT NOT NULL,
    setl_id  TEXT NOT NULL,
    grp      TEXT NOT NULL,
    weight   BIGINT NOT NULL,
    standard BIGINT NOT NULL,
    fund_pay BIGINT NOT NULL,
    outlier  TEXT NOT NULL,
    PRIMARY KEY (period, method, setl_id)
);

-- +goose Down
DROP TABLE pay_case_result;
DROP TABLE pay_result;
DROP TABLE pay_period;
DROP TABLE pay_case;
