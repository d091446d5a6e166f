-- The open offers of cases taken off the claim list (registered as _unclaimed) lapse.
UPDATE claim_offers SET state = 'expired'
WHERE state = 'open' AND case_id IN (SELECT case_id FROM _unclaimed);
