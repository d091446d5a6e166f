-- Rows a run put in quarantine, with where to find them and why (never the raw row: it holds phone numbers).
SELECT source, location, reason
FROM quarantine
WHERE run_id = $run_id
ORDER BY quarantine_id;
