-- Routing: when a lead unit reported done (for the on-time record), and the claim list (认领清单):
-- cases no rule covers, offered to the units whose resource list matches; first valid claim wins.
ALTER TABLE assignments ADD COLUMN done_at TIMESTAMP;
CREATE TABLE claim_offers (
    case_id    VARCHAR NOT NULL,
    unit_id    VARCHAR NOT NULL,
    offered_at TIMESTAMP NOT NULL,
    claim_by   TIMESTAMP,
    state      VARCHAR NOT NULL,   -- open | claimed | lost | expired
    PRIMARY KEY (case_id, unit_id)
);
