-- The totals of the quarters in $quarters as last reported for $scope under $digest.
SELECT quarter, figures FROM kpi_quarters
WHERE scope = $scope AND digest = $digest AND list_contains($quarters, quarter)
