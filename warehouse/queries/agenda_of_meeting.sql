-- A meeting's agenda in order, with what the agenda shows of each case (reporter data included
-- only so that it can be masked wherever it recurs in free text: it is never shown).
SELECT i.position, i.case_id, i.item_kind, i.proposed_decision, i.decision, i.decided_at,
       c.title, c.description, c.category, c.urgency, c.status, c.address, c.grid_id, c.received_at,
       c.due_at, c.lead_unit_id, c.reporter_name, c.reporter_phone
FROM agenda_items i
LEFT JOIN cases c USING (case_id)
WHERE i.meeting_id = $meeting_id
ORDER BY i.position;
