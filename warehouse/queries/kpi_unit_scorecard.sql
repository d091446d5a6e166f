-- Each unit's scorecard for the report's quarter $quarter (label) and the red/yellow list (红黄榜),
-- from kpi_table (kpi_by_dimension.sql): over all the report's cases (community_id NULL), and for
-- each community over its cases only (the community's side of the two-way evaluation).
-- The score is the weighted mean of the unit's rates that have a denominator, on 0–100. Only
-- units with at least $min_cases cases are ranked, so a unit with one lucky case cannot top the
-- list. The best $list_size ranked units go on the red list and the worst $list_size on the
-- yellow list; with few ranked units, the upper half is red and the lower half yellow, so no
-- unit is on both.
WITH cases AS (
    -- A unit's cases: those with any item of the quarter for it, support assignments aside.
    SELECT community_id, unit_id AS key, count(DISTINCT cid) AS cases
    FROM kpi_quarter_items
    WHERE item <> 'support_assigned' AND unit_id IS NOT NULL
    GROUP BY GROUPING SETS ((unit_id), (community_id, unit_id))
),
units AS (
    SELECT t.*, coalesce(c.cases, 0) AS cases,
           100 * (coalesce($w_response * response_rate, 0) + coalesce($w_on_time * on_time_rate, 0)
                  + coalesce($w_resolution * resolution_rate, 0) + coalesce($w_satisfaction * satisfaction_rate, 0))
               / nullif(CASE WHEN response_rate IS NULL THEN 0 ELSE $w_response END
                        + CASE WHEN on_time_rate IS NULL THEN 0 ELSE $w_on_time END
                        + CASE WHEN resolution_rate IS NULL THEN 0 ELSE $w_resolution END
                        + CASE WHEN satisfaction_rate IS NULL THEN 0 ELSE $w_satisfaction END, 0) AS score
    FROM kpi_table t
    LEFT JOIN cases c ON c.key = t.key AND c.community_id IS NOT DISTINCT FROM t.community_id
    WHERE t.quarter = $quarter AND t.dimension IN ('unit', 'community_unit') AND t.key IS NOT NULL
),
ranked AS (
    SELECT community_id, key,
           row_number() OVER (PARTITION BY community_id ORDER BY score DESC, cases DESC, key) AS rank,
           count(*) OVER (PARTITION BY community_id) AS ranked_units
    FROM units
    WHERE cases >= $min_cases AND score IS NOT NULL
)
SELECT u.*, r.rank,
       CASE WHEN r.rank <= least($list_size, ceil(r.ranked_units / 2)) THEN 'red'
            WHEN r.rank > r.ranked_units - least($list_size, floor(r.ranked_units / 2)) THEN 'yellow' END AS list
FROM units u
LEFT JOIN ranked r ON r.key = u.key AND r.community_id IS NOT DISTINCT FROM u.community_id
ORDER BY u.community_id NULLS FIRST, r.rank NULLS LAST, u.cases DESC, u.key
