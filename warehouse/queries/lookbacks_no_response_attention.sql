-- A look-back nobody answered goes on the coordinator's list (once while open): the fix is
-- neither confirmed nor disproved, and is never counted as satisfied.
INSERT INTO attention_items (kind, case_id, ref, reason, created_at)
SELECT 'lookback_no_response', m.case_id, m.lookback_id,
       '回头看提醒后仍无人回复，请协调人核实现场 / no answer to the look-back after a reminder: please check the site',
       $now
FROM _lookback_moves m
WHERE m.state = 'no_response'
  AND NOT EXISTS (SELECT 1 FROM attention_items a
                  WHERE a.kind = 'lookback_no_response' AND a.ref = m.lookback_id AND a.resolved_at IS NULL);
