-- Chasing deadlines (tasks/chase, docs/deadlines.md).
-- When an assignment's deadline was last set: an extension (延期) moves it. NULL means created_at.
ALTER TABLE assignments ADD COLUMN deadline_set_at TIMESTAMP;
-- Escalated to the rotating chair and the supervisor (督办) for the current deadline (the
-- `escalated` case event puts it on the next joint-meeting agenda). Cleared when the deadline
-- moves: an extension, a look-back reopening the case, a meeting's decision.
ALTER TABLE cases ADD COLUMN escalated_at TIMESTAMP;
-- The ladder's ledger: one row per rung sent for one lead assignment and one deadline, so a
-- rerun of a night sends nothing twice and a moved deadline starts a fresh ladder.
CREATE TABLE chase_notices (
    assignment_id VARCHAR NOT NULL,
    rung          VARCHAR NOT NULL,   -- reminder:<n> | due_today | overdue | escalation
    due_at        TIMESTAMP NOT NULL, -- the deadline the rung was about
    case_id       VARCHAR NOT NULL,
    unit_id       VARCHAR NOT NULL,
    community_id  VARCHAR,
    message_keys  VARCHAR NOT NULL,   -- idempotency keys of the emails that carried it
    noticed_at    TIMESTAMP NOT NULL,
    run_id        VARCHAR,
    PRIMARY KEY (assignment_id, rung, due_at)
);
