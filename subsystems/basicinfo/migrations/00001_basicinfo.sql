-- +goose Up
-- Insured persons held by this province: one row per person. PII (name,
-- certificate number, birthday, phone) is one SM4-sealed JSON value; the
-- certificate number is searchable through two blind indexes: certno_bidx
-- with this node's index key, nidx with the federation's index key (the
-- only identifier that leaves the province).
CREATE TABLE bi_person (
    psn_no         TEXT PRIMARY KEY,
    certno_bidx    TEXT NOT NULL UNIQUE,
    nidx           TEXT NOT NULL,
    insuplc_admdvs TEXT NOT NULL,
    status         TEXT NOT NULL,
    pii            TEXT NOT NULL,
    doc            TEXT NOT NULL,
    version        BIGINT NOT NULL,
    updated_us     BIGINT NOT NULL
);
CREATE INDEX bi_person_nidx ON bi_person (nidx);

-- History of every person: enrolment, suspension, resumption, death,
-- transfer steps. seq is node-wide and doubles as the change feed cursor.
CREATE TABLE bi_person_event (
    seq        BIGINT PRIMARY KEY,
    psn_no     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    from_stat  TEXT NOT NULL,
    to_stat    TEXT NOT NULL,
    operator   TEXT NOT NULL,
    note       TEXT NOT NULL,
    at_us      BIGINT NOT NULL
);
CREATE INDEX bi_person_event_psn ON bi_person_event (psn_no, seq);

CREATE TABLE bi_employer (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    uscc       TEXT NOT NULL,
    admdvs     TEXT NOT NULL,
    status     TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);

CREATE TABLE bi_institution (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    level      TEXT NOT NULL,
    admdvs     TEXT NOT NULL,
    status     TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX bi_institution_admdvs ON bi_institution (admdvs);

-- Person index entries waiting to be pushed to the national node (province
-- side). One row per nidx: a newer change replaces an unsent one.
CREATE TABLE bi_index_outbox (
    nidx       TEXT PRIMARY KEY,
    admdvs     TEXT NOT NULL,
    status     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    sent       BIGINT NOT NULL
);

-- The national person index (national side): blind index and insured
-- place only, no PII. version orders the updates of one province.
CREATE TABLE bi_national_index (
    nidx       TEXT NOT NULL,
    province   TEXT NOT NULL,
    admdvs     TEXT NOT NULL,
    status     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (nidx, province)
);

-- Duplicate enrolments the national node reported back (province side).
CREATE TABLE bi_duplicate (
    nidx       TEXT NOT NULL,
    province   TEXT NOT NULL,
    seen_us    BIGINT NOT NULL,
    PRIMARY KEY (nidx, province)
);

-- Transfers of the insurance relationship (转移接续), one row per
-- transfer id and side ("in" at the new insured place, "out" at the old).
CREATE TABLE bi_transfer (
    id         TEXT NOT NULL,
    side       TEXT NOT NULL,
    state      TEXT NOT NULL,
    nidx       TEXT NOT NULL,
    psn_no     TEXT NOT NULL,
    from_adm   TEXT NOT NULL,
    to_adm     TEXT NOT NULL,
    doc        TEXT NOT NULL,
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (id, side)
);
CREATE INDEX bi_transfer_state ON bi_transfer (side, state);

-- +goose Down
DROP TABLE bi_transfer;
DROP TABLE bi_duplicate;
DROP TABLE bi_national_index;
DROP TABLE bi_index_outbox;
DROP TABLE bi_institution;
DROP TABLE bi_employer;
DROP TABLE bi_person_event;
DROP TABLE bi_person;
