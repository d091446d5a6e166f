-- Invariant "nothing lost" for intake (liandong/invariants.py): every file the intake read says
-- how many rows it read, landed as new cases and quarantined (source_files). The new cases carry
-- their file and line in the `received` event's reason, quarantined rows in `location`. A file name
-- whose counts disagree with what is in the warehouse has lost (or doubled) rows.
WITH files AS (
    SELECT source, file_name, sum(rows_read) AS rows_read, sum(rows_new) AS rows_new,
           sum(rows_quarantined) AS rows_quarantined
    FROM source_files GROUP BY ALL
), landed AS (
    SELECT f.source, f.file_name,
           (SELECT count(*) FROM case_events e JOIN cases c USING (case_id)
            WHERE e.kind = 'received' AND c.source = f.source
              AND (e.reason = f.file_name OR starts_with(e.reason, f.file_name || ':'))) AS cases_found,
           (SELECT count(*) FROM quarantine q
            WHERE q.source = f.source
              AND (q.location = f.file_name OR starts_with(q.location, f.file_name || ':'))) AS quarantined_found
    FROM files f
)
SELECT f.source || ' ' || f.file_name AS ref,
       format('读取 {} 行：新诉求 {}（库中 {}），隔离 {}（库中 {}） / read {} rows: {} new cases ({} found), {} quarantined ({} found)',
              f.rows_read, f.rows_new, l.cases_found, f.rows_quarantined, l.quarantined_found,
              f.rows_read, f.rows_new, l.cases_found, f.rows_quarantined, l.quarantined_found) AS what
FROM files f JOIN landed l USING (source, file_name)
WHERE l.cases_found <> f.rows_new OR l.quarantined_found <> f.rows_quarantined
   OR f.rows_new + f.rows_quarantined > f.rows_read
ORDER BY ref;
