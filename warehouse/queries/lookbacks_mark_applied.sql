-- Answers acted on (registered as _lookback_outcomes): each is applied once.
UPDATE lookbacks
SET applied_at = $now, updated_at = $now
FROM _lookback_outcomes o
WHERE lookbacks.lookback_id = o.lookback_id;
