-- Look-back answers read from replies (registered as _reply_lookbacks). The look-back stage acts
-- on rows `answered` and not yet `applied_at`.
UPDATE lookbacks
SET state = 'answered',
    fixed = r.fixed,
    satisfaction = r.satisfaction,
    answered_at = r.answered_at,
    answer_note = r.answer_note,
    answer_inbound_id = r.answer_inbound_id,
    updated_at = $now
FROM _reply_lookbacks r
WHERE lookbacks.lookback_id = r.lookback_id;
