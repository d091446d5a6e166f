-- Invariant "nothing lost" for replies (liandong/invariants.py): every inbound message read is
-- applied, ignored with a reason, or on the attention list. A bounce to an address already on the
-- list (`contact_suspect`, raised once while open) is covered by that open item.
SELECT i.inbound_id AS ref,
       CASE
           WHEN i.outcome NOT IN ('applied', 'ignored', 'attention')
               THEN format('结果无效：{} / unknown outcome: {}', i.outcome, i.outcome)
           WHEN i.outcome = 'ignored'
               THEN '已忽略但没有原因 / ignored without a reason'
           ELSE '标为待处理但不在待处理清单上 / outcome attention but not on the attention list'
       END AS what
FROM inbound_messages i
WHERE i.outcome NOT IN ('applied', 'ignored', 'attention')
   OR (i.outcome = 'ignored' AND coalesce(trim(i.reason), '') = '')
   OR (i.outcome = 'attention'
       AND NOT EXISTS (SELECT 1 FROM attention_items a WHERE a.ref = i.inbound_id)
       AND NOT (i.intent = 'bounce' AND EXISTS (SELECT 1 FROM attention_items a WHERE a.kind = 'contact_suspect')))
ORDER BY ref;
