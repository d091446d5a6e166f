-- Assigned cases whose lead assignments were all declined or expired: they need the next candidate.
SELECT c.case_id, c.category, c.urgency, c.community_id, c.status,
       list(a.unit_id) FILTER (WHERE a.role = 'lead') AS asked_units,
       max(a.candidate_rank) FILTER (WHERE a.role = 'lead') AS last_rank,
       count(*) AS assignment_count
FROM cases c
JOIN assignments a USING (case_id)
WHERE c.status = 'assigned'
GROUP BY ALL
HAVING count(*) FILTER (WHERE a.role = 'lead' AND a.state IN ('notified', 'accepted', 'done_reported')) = 0
   AND count(*) FILTER (WHERE a.role = 'lead') > 0
ORDER BY c.case_id;
