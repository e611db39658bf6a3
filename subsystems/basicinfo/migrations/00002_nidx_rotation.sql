-- +goose Up
-- Rotation of the federation person-index key. nidx_key is the key
-- version of nidx (the id the province looks persons up and pushes with;
-- '' before versions were recorded); during a rotation nidx_next is the id
-- under the new version, and after the switch nidx_prev the id the
-- person had before, so routed look-ups under either version still find
-- the person.
ALTER TABLE bi_person ADD COLUMN nidx_key TEXT NOT NULL DEFAULT '';
ALTER TABLE bi_person ADD COLUMN nidx_next TEXT NOT NULL DEFAULT '';
ALTER TABLE bi_person ADD COLUMN nidx_next_key TEXT NOT NULL DEFAULT '';
ALTER TABLE bi_person ADD COLUMN nidx_prev TEXT NOT NULL DEFAULT '';
CREATE INDEX bi_person_nidx_next ON bi_person (nidx_next);
CREATE INDEX bi_person_nidx_prev ON bi_person (nidx_prev);
CREATE INDEX bi_person_nidx_next_key ON bi_person (nidx_next_key);

-- The key version of each index entry, pushed and stored with it.
ALTER TABLE bi_index_outbox ADD COLUMN kver TEXT NOT NULL DEFAULT '';
ALTER TABLE bi_national_index ADD COLUMN kver TEXT NOT NULL DEFAULT '';

-- Province side: the key version this node looks persons up with.
CREATE TABLE bi_nidx_state (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);

-- National side: rotations (one row per target version) and what each
-- province last reported: the version it looks up with, the version it
-- has fully re-indexed and pushed.
CREATE TABLE bi_nidx_rotation (
    target     TEXT PRIMARY KEY,
    phase      TEXT NOT NULL,
    operator   TEXT NOT NULL,
    started_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE TABLE bi_nidx_province (
    province   TEXT PRIMARY KEY,
    lookup     TEXT NOT NULL,
    indexed    TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);

-- +goose Down
DROP TABLE bi_nidx_province;
DROP TABLE bi_nidx_rotation;
DROP TABLE bi_nidx_state;
ALTER TABLE bi_national_index DROP COLUMN kver;
ALTER TABLE bi_index_outbox DROP COLUMN kver;
DROP INDEX bi_person_nidx_next_key;
DROP INDEX bi_person_nidx_prev;
DROP INDEX bi_person_nidx_next;
ALTER TABLE bi_person DROP COLUMN nidx_prev;
ALTER TABLE bi_person DROP COLUMN nidx_next_key;
ALTER TABLE bi_person DROP COLUMN nidx_next;
ALTER TABLE bi_person DROP COLUMN nidx_key;
