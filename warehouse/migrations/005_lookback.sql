-- Look-back (回头看) bookkeeping of tasks/lookback; the question's asked_at is in 001.
ALTER TABLE lookbacks ADD COLUMN reminded_at TIMESTAMP;  -- the one reminder after no answer
-- When the stage acted on the answer (verified and closed, or reopened): an answer is applied once.
ALTER TABLE lookbacks ADD COLUMN applied_at TIMESTAMP;
