-- +goose Up
CREATE TABLE refdata_meta (
    k TEXT PRIMARY KEY,
    v BIGINT NOT NULL
);
CREATE TABLE refdata_ns (
    namespace      TEXT PRIMARY KEY,
    version        BIGINT NOT NULL,
    effective_from BIGINT NOT NULL,
    pending_version BIGINT NOT NULL,
    pending_next   BIGINT NOT NULL,
    pending_parts  BIGINT NOT NULL
);
CREATE TABLE refdata_version (
    namespace      TEXT NOT NULL,
    version        BIGINT NOT NULL,
    effective_from BIGINT NOT NULL,
    signer         TEXT NOT NULL,
    signed_at      BIGINT NOT NULL,
    parts          BIGINT NOT NULL,
    changes        BIGINT NOT NULL,
    raft_index     BIGINT NOT NULL,
    PRIMARY KEY (namespace, version)
);
CREATE TABLE refdata_part (
    namespace  TEXT NOT NULL,
    version    BIGINT NOT NULL,
    part       BIGINT NOT NULL,
    hash       BYTEA NOT NULL,
    raft_index BIGINT NOT NULL,
    changes    BYTEA,
    PRIMARY KEY (namespace, version, part)
);
CREATE TABLE refdata_item (
    namespace TEXT NOT NULL,
    code      TEXT NOT NULL,
    name      TEXT NOT NULL,
    version   BIGINT NOT NULL,
    item      BYTEA NOT NULL,
    PRIMARY KEY (namespace, code)
);
CREATE TABLE refdata_hist (
    namespace TEXT NOT NULL,
    version   BIGINT NOT NULL,
    code      TEXT NOT NULL,
    op        BIGINT NOT NULL,
    item      BYTEA NOT NULL,
    PRIMARY KEY (namespace, version, code)
);
CREATE INDEX refdata_hist_code ON refdata_hist (namespace, code, version);
CREATE TABLE refdata_rejection (
    raft_index BIGINT PRIMARY KEY,
    namespace  TEXT NOT NULL,
    version    BIGINT NOT NULL,
    part       BIGINT NOT NULL,
    signer     TEXT NOT NULL,
    reason     TEXT NOT NULL
);
CREATE TABLE refdata_revoked (
    serial     TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    raft_index BIGINT NOT NULL
);
-- +goose Down
DROP TABLE refdata_revoked;
DROP TABLE refdata_rejection;
DROP TABLE refdata_hist;
DROP TABLE refdata_item;
DROP TABLE refdata_part;
DROP TABLE refdata_version;
DROP TABLE refdata_ns;
DROP TABLE refdata_meta;
