-- Joint meetings (tasks/meetings, docs/meetings.md): what 001's `meetings` lacked to send, move,
-- cancel and record a meeting. `assignments.state` also takes `superseded`: a live assignment a
-- meeting decision replaced (the unit is no longer asked; its history stays).
ALTER TABLE meetings ADD COLUMN ends_at TIMESTAMP;
ALTER TABLE meetings ADD COLUMN link VARCHAR;              -- the virtual meeting room, fixed when first convened
ALTER TABLE meetings ADD COLUMN held_at TIMESTAMP;         -- when its decisions were recorded
ALTER TABLE meetings ADD COLUMN attendance JSON;           -- {"present": [unit ids], "absent": [unit ids]}
ALTER TABLE meetings ADD COLUMN decisions_source VARCHAR;  -- form:<flow run id> | minutes:<file name>
ALTER TABLE meetings ADD COLUMN cancel_reason VARCHAR;
