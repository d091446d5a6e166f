-- Outbox delivery bookkeeping (tasks/mail/outbox.py). `messages.state` also takes `sending`:
-- claimed by a delivery run and possibly on the wire; a later run sends such rows again.
ALTER TABLE messages ADD COLUMN mail_from VARCHAR;          -- envelope sender, fixed when queued
ALTER TABLE messages ADD COLUMN first_attempt_at TIMESTAMP; -- the ~3-day retry window starts here
ALTER TABLE messages ADD COLUMN retry_rcpts VARCHAR;        -- after a partial 4xx refusal: only these are retried
