-- SQLite clusters the item and history tables on their primary keys in
-- this version (WITHOUT ROWID); PostgreSQL tables are heaps with a primary
-- key index either way, so nothing changes here. The version is kept so
-- that both backends number their migrations alike.
-- +goose Up
SELECT 1;
-- +goose Down
SELECT 1;
