-- Our outbound messages among the Message-IDs a batch of replies refers to (In-Reply-To,
-- References, a bounce's returned message).
SELECT message_id, purpose, case_id, assignment_id, unit_id, to_addrs
FROM messages
WHERE message_id IN (SELECT unnest(string_split($ids, $sep)));
