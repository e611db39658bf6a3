-- +goose Up
-- Monthly figures per province (from the upward reports), idempotent by
-- (province, month): a resubmission replaces them. Money in fen.
CREATE TABLE an_month (
    province    TEXT NOT NULL,
    month       TEXT NOT NULL,
    income      BIGINT NOT NULL,
    expense     BIGINT NOT NULL,
    balance     BIGINT NOT NULL,
    settlements BIGINT NOT NULL,
    enrolled    BIGINT NOT NULL,
    PRIMARY KEY (province, month)
);
CREATE INDEX an_month_month ON an_month (month);

-- +goose Down
DROP TABLE an_month;
