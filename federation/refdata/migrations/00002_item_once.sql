-- Item bytes are stored once, in refdata_hist: the current item of a code
-- is its history row at the version refdata_item names.
-- +goose Up
ALTER TABLE refdata_item DROP COLUMN item;
-- +goose Down
ALTER TABLE refdata_item ADD COLUMN item BYTEA NOT NULL DEFAULT '';
UPDATE refdata_item SET item = (SELECT h.item FROM refdata_hist h
    WHERE h.namespace = refdata_item.namespace AND h.version = refdata_item.version AND h.code = refdata_item.code);
