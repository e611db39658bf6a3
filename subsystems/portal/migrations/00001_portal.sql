-- +goose Up
-- Internal messages between the national center and the provinces. A
-- message is kept at both ends: box 'out' at the sender, box 'in' at the
-- recipient, under the same id. file_data is the attachment in base64,
-- file_sm3 its SM3 digest (hex); envelope is the signed envelope as
-- received (box 'in') or as sent (box 'out').
CREATE TABLE portal_message (
    id           TEXT NOT NULL,
    box          TEXT NOT NULL,
    from_admdvs  TEXT NOT NULL,
    to_admdvs    TEXT NOT NULL,
    sender       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    file_sm3     TEXT NOT NULL,
    file_size    BIGINT NOT NULL,
    file_data    TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    last_error   TEXT NOT NULL,
    sent_us      BIGINT NOT NULL,
    done_us      BIGINT NOT NULL,
    read_by      TEXT NOT NULL,
    envelope     TEXT NOT NULL,
    PRIMARY KEY (id, box)
);
CREATE INDEX portal_message_box ON portal_message (box, status, sent_us);

-- +goose Down
DROP TABLE portal_message;
