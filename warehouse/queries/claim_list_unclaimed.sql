-- Claim-listed cases no unit claimed by the last claim_by of their offers: the joint meeting decides.
SELECT c.case_id, list(o.unit_id ORDER BY o.unit_id) AS offered_to
FROM cases c
JOIN claim_offers o USING (case_id)
WHERE c.status = 'claim_listed' AND o.state = 'open'
GROUP BY c.case_id
HAVING max(o.claim_by) < $now
ORDER BY c.case_id;
