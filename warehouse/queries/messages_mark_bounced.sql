-- Outbound messages a bounce (DSN) reported undeliverable for good (registered as _reply_bounced).
UPDATE messages
SET state = 'failed_permanent',
    last_error = b.last_error,
    updated_at = $now
FROM _reply_bounced b
WHERE messages.message_id = b.message_id;
