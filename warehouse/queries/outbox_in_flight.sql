-- Outbox rows claimed by a delivery run that did not finish (liandong/invariants.py): they may
-- already be on the wire and are sent again by the next run, the one duplicate the outbox allows.
SELECT message_id, idempotency_key, attempts FROM messages WHERE state = 'sending' ORDER BY message_id;
