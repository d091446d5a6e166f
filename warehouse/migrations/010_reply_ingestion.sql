-- Reply ingestion (tasks/replies, docs/replies.md): what each inbound message was matched to and
-- said, the photos that came with it, and the answer of a look-back for the look-back stage.
ALTER TABLE inbound_messages ADD COLUMN unit_id VARCHAR;     -- the sender's unit, once verified
ALTER TABLE inbound_messages ADD COLUMN matched_by VARCHAR;  -- token | in_reply_to | subject_tag | case_number
ALTER TABLE inbound_messages ADD COLUMN note VARCHAR;        -- reason of a decline, note of progress / done (phones masked)
ALTER TABLE inbound_messages ADD COLUMN run_id VARCHAR;

-- Attachments are stored under settings.attachments_folder with generated names; the name the
-- sender gave is metadata only (sanitised), never part of a path.
CREATE TABLE inbound_attachments (
    inbound_id    VARCHAR NOT NULL,
    position      INTEGER NOT NULL,
    case_id       VARCHAR,
    stored_path   VARCHAR NOT NULL,
    original_name VARCHAR,
    content_type  VARCHAR NOT NULL,
    size          BIGINT NOT NULL,
    sha256        VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (inbound_id, position)
);

-- A look-back's answer as the reply gave it; `state = 'answered'` with `applied_at IS NULL` is
-- what the look-back stage acts on (005).
ALTER TABLE lookbacks ADD COLUMN answer_note VARCHAR;
ALTER TABLE lookbacks ADD COLUMN answer_inbound_id VARCHAR;
