-- Attention items of a batch of replies (registered as _reply_attention); an item whose kind
-- and ref are already open is not added twice (one bad address bounces every notice to it).
INSERT INTO attention_items (kind, case_id, ref, reason, created_at)
SELECT DISTINCT ON (s.kind, s.ref) s.kind, s.case_id, s.ref, s.reason, $now
FROM _reply_attention s
WHERE NOT EXISTS (SELECT 1 FROM attention_items a
                  WHERE a.kind = s.kind AND a.ref = s.ref AND a.resolved_at IS NULL);
