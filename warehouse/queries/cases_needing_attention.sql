-- Cases triage could not finish on its own: no category matched, or linked as a likely duplicate.
SELECT CASE WHEN status = 'triaged' THEN 'no_category' ELSE 'likely_duplicate' END AS kind,
       case_id,
       duplicate_of AS ref,
       coalesce(status_reason, '未匹配任何类别关键词 / no category keyword matched') AS reason
FROM cases
WHERE (status = 'triaged' AND category IS NULL)
   OR (status = 'rejected' AND duplicate_of IS NOT NULL AND updated_at >= $since)
ORDER BY case_id
LIMIT 200;
