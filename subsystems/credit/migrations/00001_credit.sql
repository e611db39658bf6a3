-- +goose Up
-- Credit events (DOMAIN §9 credit_event), idempotent by id.
CREATE TABLE credit_event (
    id           TEXT PRIMARY KEY,
    subject_type TEXT NOT NULL,
    subject_code TEXT NOT NULL,
    kind         TEXT NOT NULL,
    date         INTEGER NOT NULL,
    doc          TEXT NOT NULL
);
CREATE INDEX credit_event_subject ON credit_event (subject_type, subject_code, date);
CREATE INDEX credit_event_date ON credit_event (date);

-- Monthly scores with their explanation: the history of every subject.
CREATE TABLE credit_score (
    period        TEXT NOT NULL,
    subject_type  TEXT NOT NULL,
    subject_code  TEXT NOT NULL,
    model_version TEXT NOT NULL,
    score         BIGINT NOT NULL,
    grade         TEXT NOT NULL,
    points        BIGINT NOT NULL,
    status        TEXT NOT NULL,
    doc           TEXT NOT NULL,
    computed      BIGINT NOT NULL,
    PRIMARY KEY (period, subject_type, subject_code)
);
CREATE INDEX credit_score_subject ON credit_score (subject_type, subject_code, period);

-- +goose Down
DROP TABLE credit_score;
DROP TABLE credit_event;
