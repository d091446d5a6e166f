-- Which of these inbound messages ($ids, joined by $sep) were already read: a rerun or a
-- duplicate delivery changes nothing the second time.
SELECT inbound_id
FROM inbound_messages
WHERE inbound_id IN (SELECT unnest(string_split($ids, $sep)));
