-- Look-back answers (recorded by the replies flow) the stage has not acted on yet, for cases
-- still `resolved`: fixed → verified and closed; not fixed → reopened.
SELECT l.lookback_id, l.case_id, l.fixed, l.satisfaction, l.answered_at, l.contact_email,
       c.category, c.urgency, c.lead_unit_id,
       (SELECT count(*) FROM assignments a WHERE a.case_id = l.case_id) AS assignment_count,
       (SELECT max(a.candidate_rank) FROM assignments a
        WHERE a.case_id = l.case_id AND a.role = 'lead' AND a.unit_id = c.lead_unit_id) AS lead_rank
FROM lookbacks l
JOIN cases c USING (case_id)
WHERE l.state = 'answered' AND l.fixed IS NOT NULL AND l.applied_at IS NULL AND c.status = 'resolved'
ORDER BY l.answered_at, l.lookback_id;
