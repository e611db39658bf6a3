-- +goose Up
-- Cancellation of an incoming transfer by the new insured place: who
-- cancelled it, why and when (JSON of TransferCancel; '' when not
-- cancelled).
ALTER TABLE bi_transfer ADD COLUMN cancel TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE bi_transfer DROP COLUMN cancel;
