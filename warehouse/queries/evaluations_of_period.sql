-- Two-way evaluation (双向评价) rows of the periods in $periods (e.g. the year and the quarter):
-- units scoring their community (rater unit:<id>, ratee community:<id>) and the community's side,
-- its scorecard of the units (rater community:<id>, ratee unit:<id>), both on a 0–5 scale.
-- $community (NULL: all) keeps the rows where that community is rater or ratee.
SELECT period, rater, ratee, score, comment, created_at
FROM evaluations
WHERE list_contains($periods, period)
  AND ($community IS NULL OR 'community:' || $community IN (rater, ratee))
ORDER BY period, ratee, rater
