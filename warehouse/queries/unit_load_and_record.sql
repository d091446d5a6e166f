-- Each unit's open load (assignments notified or accepted) and its lead on-time record over the
-- last $days days (done by the deadline / done), the routing tie-breaker.
SELECT u.unit_id,
       count(a.assignment_id) FILTER (WHERE a.state IN ('notified', 'accepted')) AS open_load,
       count(a.assignment_id) FILTER (WHERE a.role = 'lead' AND a.done_at >= $since) AS done_recent,
       count(a.assignment_id) FILTER (WHERE a.role = 'lead' AND a.done_at >= $since AND a.done_at <= a.due_at)
           AS on_time_recent
FROM units u
LEFT JOIN assignments a USING (unit_id)
GROUP BY u.unit_id;
