-- The bytes of one claim list we sent: a claim may name cases by their position in it.
-- One message by its key (an index lookup): reading `raw` in a scan would read every message.
SELECT raw
FROM messages
WHERE message_id = $message_id;
