-- Every assignment of the cases a batch of replies is about, with its current state.
SELECT assignment_id, case_id, unit_id, role, state
FROM assignments
WHERE case_id IN (SELECT unnest(string_split($ids, $sep)));
