-- The look-backs of the cases a batch of replies is about, oldest first (the last one counts).
SELECT lookback_id, case_id, state, contact_email
FROM lookbacks
WHERE case_id IN (SELECT unnest(string_split($ids, $sep)))
ORDER BY case_id, created_at, lookback_id;
