-- A run's totals (registered as _kpi_quarters) replace what was reported for the same quarter,
-- scope and digest.
INSERT OR REPLACE INTO kpi_quarters (scope, quarter, digest, figures, computed_at)
SELECT scope, quarter, digest, figures, computed_at FROM _kpi_quarters
