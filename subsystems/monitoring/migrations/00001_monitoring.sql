-- +goose Up
-- Daily indicator samples per province as reported upwards; idempotent by
-- (province, date, metric): a resubmission replaces the value.
CREATE TABLE mo_sample (
    province TEXT NOT NULL,
    date     TEXT NOT NULL,
    metric   TEXT NOT NULL,
    value    BIGINT NOT NULL,
    PRIMARY KEY (province, date, metric)
);
CREATE INDEX mo_sample_date ON mo_sample (date);

-- Alerts raised by evaluating thresholds on a day's KPIs.
CREATE TABLE mo_alert (
    id        TEXT PRIMARY KEY,
    date      TEXT NOT NULL,
    scope     TEXT NOT NULL,
    kpi       TEXT NOT NULL,
    value     BIGINT NOT NULL,
    threshold BIGINT NOT NULL,
    severity  TEXT NOT NULL,
    message   TEXT NOT NULL
);
CREATE INDEX mo_alert_date ON mo_alert (date);

-- +goose Down
DROP TABLE mo_alert;
DROP TABLE mo_sample;
