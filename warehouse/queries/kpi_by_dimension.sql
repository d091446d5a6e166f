-- The KPIs (docs/kpis.md): the scope's totals for every quarter in kpi_items (the trend), and for
-- the report's quarter (kpi_quarter_items) also by community, grid, category, source and unit,
-- and by unit within each community (dimension community_unit: key the unit, community_id the
-- community; each community's own scorecard of its member units). A NULL key is "none": no
-- grid, no category, or for the units the items that have no unit (cases not yet assigned).
-- Parameters: $basically (basically satisfied counts as satisfied), $rated_base (the
-- satisfaction rate's base is the rated look-backs rather than all answered ones).
--
-- Two steps, for speed: first one count per kind of item (item, ok, tag) and group, then those
-- few rows pivoted into the figures; the working-day medians are taken over the spans alone.
WITH
tallies AS (
    SELECT quarter, 'all' AS dimension, NULL AS key, NULL AS community_id, item, ok, tag, count(*) AS n
    FROM kpi_items
    GROUP BY quarter, item, ok, tag
    UNION ALL
    SELECT quarter,
           CASE WHEN grouping(community_id, unit_id) = 0 THEN 'community_unit'
                WHEN grouping(community_id) = 0 THEN 'community'
                WHEN grouping(grid_id) = 0 THEN 'grid'
                WHEN grouping(category) = 0 THEN 'category'
                WHEN grouping(source) = 0 THEN 'source'
                ELSE 'unit' END,
           CASE WHEN grouping(community_id, unit_id) = 0 THEN unit_id
                ELSE coalesce(community_id, grid_id, category, source, unit_id) END,
           CASE WHEN grouping(community_id, unit_id) = 0 THEN community_id END,
           item, ok, tag, count(*)
    FROM kpi_quarter_items
    GROUP BY GROUPING SETS ((quarter, community_id, item, ok, tag), (quarter, grid_id, item, ok, tag),
                            (quarter, category, item, ok, tag), (quarter, source, item, ok, tag),
                            (quarter, unit_id, item, ok, tag), (quarter, community_id, unit_id, item, ok, tag))
),
figures AS (
    SELECT quarter, dimension, key, community_id,
           tally(n, item = 'received') AS received,
           tally(n, item = 'assigned') AS assigned,
           tally(n, item = 'response') AS responses,
           tally(n, item = 'response' AND ok) AS responded_in_time,
           tally(n, item = 'resolved' AND ok) AS resolved,
           tally(n, item = 'deadline') AS deadlines,
           tally(n, item = 'deadline' AND ok) AS on_time,
           tally(n, item = 'verdict') AS verdicts,
           tally(n, item = 'verdict' AND ok) AS verified,
           tally(n, item = 'verdict' AND NOT ok) AS reopened,
           tally(n, item = 'lookback' AND tag <> 'no_response') AS answered,
           tally(n, item = 'lookback' AND tag IN ('satisfied', 'basically_satisfied', 'dissatisfied')) AS rated,
           tally(n, item = 'lookback' AND (tag = 'satisfied' OR ($basically AND tag = 'basically_satisfied'))) AS satisfied,
           tally(n, item = 'lookback' AND tag = 'no_response') AS no_response,
           tally(n, item = 'open') AS open_at_end,
           tally(n, item = 'overdue') AS overdue_at_end,
           tally(n, item = 'declined') AS declined,
           tally(n, item = 'expired') AS expired,
           tally(n, item = 'escalated') AS escalated,
           tally(n, item = 'support_assigned') AS support_assigned
    FROM tallies
    GROUP BY quarter, dimension, key, community_id
),
medians AS (
    SELECT quarter, 'all' AS dimension, NULL AS key, NULL AS community_id,
           quantile_cont(days, 0.5) FILTER (WHERE item = 'accepted') AS accept_days_median,
           quantile_cont(days, 0.9) FILTER (WHERE item = 'accepted') AS accept_days_p90,
           quantile_cont(days, 0.5) FILTER (WHERE item = 'resolved') AS resolve_days_median,
           quantile_cont(days, 0.9) FILTER (WHERE item = 'resolved') AS resolve_days_p90,
           -- Spans reaching a year the working-day calendar does not cover are left out of the medians.
           count(*) FILTER (WHERE days IS NULL) AS days_unknown
    FROM kpi_items
    WHERE item IN ('accepted', 'resolved')
    GROUP BY quarter
    UNION ALL
    SELECT quarter,
           CASE WHEN grouping(community_id, unit_id) = 0 THEN 'community_unit'
                WHEN grouping(community_id) = 0 THEN 'community'
                WHEN grouping(grid_id) = 0 THEN 'grid'
                WHEN grouping(category) = 0 THEN 'category'
                WHEN grouping(source) = 0 THEN 'source'
                ELSE 'unit' END,
           CASE WHEN grouping(community_id, unit_id) = 0 THEN unit_id
                ELSE coalesce(community_id, grid_id, category, source, unit_id) END,
           CASE WHEN grouping(community_id, unit_id) = 0 THEN community_id END,
           quantile_cont(days, 0.5) FILTER (WHERE item = 'accepted'),
           quantile_cont(days, 0.9) FILTER (WHERE item = 'accepted'),
           quantile_cont(days, 0.5) FILTER (WHERE item = 'resolved'),
           quantile_cont(days, 0.9) FILTER (WHERE item = 'resolved'),
           count(*) FILTER (WHERE days IS NULL)
    FROM kpi_quarter_items
    WHERE item IN ('accepted', 'resolved')
    GROUP BY GROUPING SETS ((quarter, community_id), (quarter, grid_id), (quarter, category), (quarter, source),
                            (quarter, unit_id), (quarter, community_id, unit_id))
)
SELECT quarter_label(f.quarter) AS quarter, f.dimension, f.key, f.community_id,
       f.* EXCLUDE (quarter, dimension, key, community_id),
       responded_in_time / nullif(responses, 0) AS response_rate,
       on_time / nullif(deadlines, 0) AS on_time_rate,
       verified / nullif(verdicts, 0) AS resolution_rate,
       satisfied / nullif(CASE WHEN $rated_base THEN rated ELSE answered END, 0) AS satisfaction_rate,
       m.accept_days_median, m.accept_days_p90, m.resolve_days_median, m.resolve_days_p90,
       coalesce(m.days_unknown, 0) AS days_unknown
FROM figures f
LEFT JOIN medians m ON m.quarter = f.quarter AND m.dimension = f.dimension
                   AND m.key IS NOT DISTINCT FROM f.key AND m.community_id IS NOT DISTINCT FROM f.community_id
ORDER BY f.quarter, f.dimension, f.community_id, f.key NULLS LAST
