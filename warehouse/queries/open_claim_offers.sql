-- Cases on the claim list, per unit they are offered to (the claim-list digest's content).
SELECT o.unit_id, o.claim_by, c.case_id, c.title, c.description, c.urgency, c.category, c.address, c.received_at
FROM claim_offers o
JOIN cases c USING (case_id)
WHERE o.state = 'open' AND c.status = 'claim_listed'
ORDER BY o.unit_id, c.case_id;
