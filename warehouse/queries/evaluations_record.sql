-- Two-way evaluation rows (registered as _evaluations, tasks/report/evaluation.py); a later row for
-- the same period, rater and ratee replaces the earlier one.
INSERT OR REPLACE INTO evaluations (period, rater, ratee, score, comment, created_at)
SELECT period, rater, ratee, score, comment, created_at FROM _evaluations
