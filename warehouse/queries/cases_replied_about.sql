-- The cases a batch of replies names (token, replied-to message, subject tag, case numbers).
SELECT case_id, status, title, grid_id, community_id
FROM cases
WHERE case_id IN (SELECT unnest(string_split($ids, $sep)));
