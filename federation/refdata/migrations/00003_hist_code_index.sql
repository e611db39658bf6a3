-- The as-of query probes refdata_hist by primary key once per version of
-- the namespace (refdata_version drives it), so the per-code index, a third
-- B-tree written for every change, is not needed.
-- +goose Up
DROP INDEX refdata_hist_code;
-- +goose Down
CREATE INDEX refdata_hist_code ON refdata_hist (namespace, code, version);
