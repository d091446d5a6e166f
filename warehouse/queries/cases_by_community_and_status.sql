-- How many cases each community has in each status (the nightly summary's main table).
SELECT coalesce(c.name, cs.community_id, '(未定)') AS community,
       cs.status,
       count(*) AS cases
FROM cases cs
LEFT JOIN communities c USING (community_id)
GROUP BY ALL
ORDER BY community, status;
