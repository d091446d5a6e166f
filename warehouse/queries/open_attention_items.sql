-- What still needs a coordinator, oldest first.
SELECT kind, case_id, ref, reason, created_at
FROM attention_items
WHERE resolved_at IS NULL
ORDER BY created_at, attention_id
LIMIT 200;
