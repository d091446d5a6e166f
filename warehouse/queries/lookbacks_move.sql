-- Look-back state moves decided by the stage (registered as _lookback_moves); a row whose state
-- changed meanwhile (an answer came in) is left alone.
UPDATE lookbacks
SET state = m.state,
    contact_email = coalesce(m.contact_email, lookbacks.contact_email),
    asked_at = coalesce(m.asked_at, lookbacks.asked_at),
    reminded_at = coalesce(m.reminded_at, lookbacks.reminded_at),
    updated_at = $now
FROM _lookback_moves m
WHERE lookbacks.lookback_id = m.lookback_id AND lookbacks.state = m.from_state;
