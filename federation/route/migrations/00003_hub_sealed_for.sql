-- +goose Up
-- Which keys a journaled reply's sealed part is for: a digest of the
-- treatment node's encryption certificate (reply_to) and the insured
-- node's (sealed_to); '' for a reply with nothing sealed or journaled
-- before this column. A repeat of the msgid from a node holding other keys
-- is answered by the insured node again instead of from the journal.
ALTER TABLE hub_journal ADD COLUMN sealed_for TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE hub_journal DROP COLUMN sealed_for;
