-- The whole case lifecycle (DESIGN.md "Lifecycle"). Every timestamp column is UTC (naive
-- TIMESTAMP); rendering converts to Asia/Shanghai. State tables are updated in the same
-- transaction as the append-only case_events row that explains the change.

-- Roster dimensions: replaced from the roster file at the start of every run.
CREATE TABLE communities (
    community_id      VARCHAR PRIMARY KEY,
    name              VARCHAR NOT NULL,
    coordinator_email VARCHAR NOT NULL,
    meeting_cadence   VARCHAR NOT NULL
);
CREATE TABLE grids (
    grid_id      VARCHAR PRIMARY KEY,
    community_id VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    worker_email VARCHAR
);
CREATE TABLE units (
    unit_id  VARCHAR PRIMARY KEY,
    name     VARCHAR NOT NULL,
    kind     VARCHAR NOT NULL,
    capacity INTEGER NOT NULL,
    locale   VARCHAR NOT NULL
);
CREATE TABLE unit_communities (unit_id VARCHAR NOT NULL, community_id VARCHAR NOT NULL);
CREATE TABLE unit_capabilities (unit_id VARCHAR NOT NULL, category VARCHAR NOT NULL);
CREATE TABLE contacts (
    email   VARCHAR PRIMARY KEY,
    unit_id VARCHAR NOT NULL,
    name    VARCHAR NOT NULL,
    role    VARCHAR NOT NULL,
    locale  VARCHAR NOT NULL
);

-- Cases (诉求). case_id is LD-<year>-<six digits>; (source, source_ref) makes re-pulls idempotent.
CREATE TABLE cases (
    case_id        VARCHAR PRIMARY KEY,
    source         VARCHAR NOT NULL,
    source_ref     VARCHAR NOT NULL,
    channel        VARCHAR,
    received_at    TIMESTAMP NOT NULL,
    title          VARCHAR NOT NULL,
    description    VARCHAR NOT NULL,
    category       VARCHAR,
    urgency        VARCHAR NOT NULL,
    community_id   VARCHAR,
    grid_id        VARCHAR,
    address        VARCHAR,
    reporter_name  VARCHAR,
    reporter_phone VARCHAR,
    status         VARCHAR NOT NULL,
    status_reason  VARCHAR,
    duplicate_of   VARCHAR,
    lead_unit_id   VARCHAR,
    due_at         TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (source, source_ref)
);

-- The audit trail and the base of every KPI: one row per transition, never updated.
CREATE SEQUENCE case_event_ids;
CREATE TABLE case_events (
    event_id      BIGINT PRIMARY KEY DEFAULT nextval('case_event_ids'),
    case_id       VARCHAR NOT NULL,
    occurred_at   TIMESTAMP NOT NULL,
    actor         VARCHAR NOT NULL,   -- system, unit:<id>, coordinator:<email>, meeting:<id>
    kind          VARCHAR NOT NULL,   -- received, triaged, rejected, duplicate_linked, assigned, …
    from_status   VARCHAR,
    to_status     VARCHAR,
    assignment_id VARCHAR,
    unit_id       VARCHAR,
    reason        VARCHAR,
    detail        JSON,
    inbound_id    VARCHAR,
    run_id        VARCHAR
);

-- One case, one unit, role lead (牵头) or support (协办).
CREATE TABLE assignments (
    assignment_id  VARCHAR PRIMARY KEY,  -- <case_id>/<n>
    case_id        VARCHAR NOT NULL,
    unit_id        VARCHAR NOT NULL,
    role           VARCHAR NOT NULL,     -- lead | support
    state          VARCHAR NOT NULL,     -- notified | accepted | declined | expired | done_reported
    candidate_rank INTEGER NOT NULL,
    accept_by      TIMESTAMP,
    due_at         TIMESTAMP,
    responded_at   TIMESTAMP,
    decline_reason VARCHAR,
    route_detail   JSON,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

-- Outbox: rendered and recorded before the SMTP call (DESIGN.md "Outbox pattern").
CREATE TABLE messages (
    message_id      VARCHAR PRIMARY KEY,  -- the Message-ID header without angle brackets
    idempotency_key VARCHAR NOT NULL UNIQUE,
    purpose         VARCHAR NOT NULL,
    case_id         VARCHAR,
    assignment_id   VARCHAR,
    unit_id         VARCHAR,
    to_addrs        VARCHAR NOT NULL,
    cc_addrs        VARCHAR,
    subject         VARCHAR NOT NULL,
    raw             BLOB NOT NULL,
    state           VARCHAR NOT NULL,     -- queued | sent | failed_temporary | failed_permanent
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error      VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    updated_at      TIMESTAMP NOT NULL
);

-- Every inbound message is applied, ignored with a reason, or put on the attention list.
CREATE TABLE inbound_messages (
    inbound_id    VARCHAR PRIMARY KEY,    -- hash of the Message-ID header (or of the bytes)
    message_id    VARCHAR,
    transport_ref VARCHAR,
    from_addr     VARCHAR,
    subject       VARCHAR,
    received_at   TIMESTAMP NOT NULL,
    case_id       VARCHAR,
    assignment_id VARCHAR,
    purpose       VARCHAR,
    intent        VARCHAR,
    outcome       VARCHAR NOT NULL,       -- applied | ignored | attention
    reason        VARCHAR,
    raw_path      VARCHAR,
    processed_at  TIMESTAMP NOT NULL
);

-- What needs a coordinator: unreadable replies, bounces, permanent send failures, …
CREATE SEQUENCE attention_ids;
CREATE TABLE attention_items (
    attention_id BIGINT PRIMARY KEY DEFAULT nextval('attention_ids'),
    kind         VARCHAR NOT NULL,
    case_id      VARCHAR,
    ref          VARCHAR,
    reason       VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    resolved_at  TIMESTAMP
);

-- Joint meetings (联席会议) and their agendas.
CREATE TABLE meetings (
    meeting_id    VARCHAR PRIMARY KEY,
    community_id  VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,       -- regular | adhoc
    starts_at     TIMESTAMP NOT NULL,
    chair_unit_id VARCHAR,
    status        VARCHAR NOT NULL,       -- scheduled | held | cancelled
    sequence      INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE TABLE agenda_items (
    meeting_id        VARCHAR NOT NULL,
    position          INTEGER NOT NULL,
    case_id           VARCHAR,
    item_kind         VARCHAR NOT NULL,
    proposed_decision VARCHAR,
    decision          VARCHAR,
    decided_at        TIMESTAMP,
    PRIMARY KEY (meeting_id, position)
);

-- Look-backs (回头看): was the fix real, were residents satisfied.
CREATE TABLE lookbacks (
    lookback_id   VARCHAR PRIMARY KEY,
    case_id       VARCHAR NOT NULL,
    due_at        TIMESTAMP NOT NULL,
    contact_email VARCHAR,
    state         VARCHAR NOT NULL,       -- scheduled | asked | reminded | answered | no_response
    fixed         BOOLEAN,
    satisfaction  VARCHAR,
    asked_at      TIMESTAMP,
    answered_at   TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- Two-way evaluation (双向评价).
CREATE TABLE evaluations (
    period     VARCHAR NOT NULL,
    rater      VARCHAR NOT NULL,
    ratee      VARCHAR NOT NULL,
    score      DOUBLE,
    comment    VARCHAR,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (period, rater, ratee)
);

-- Intake bookkeeping: rows that failed validation, files seen, and pull watermarks.
CREATE SEQUENCE quarantine_ids;
CREATE TABLE quarantine (
    quarantine_id  BIGINT PRIMARY KEY DEFAULT nextval('quarantine_ids'),
    source         VARCHAR NOT NULL,
    source_ref     VARCHAR,
    location       VARCHAR NOT NULL,      -- file name and line, or the API window
    raw            VARCHAR NOT NULL,
    reason         VARCHAR NOT NULL,
    run_id         VARCHAR,
    quarantined_at TIMESTAMP NOT NULL,
    UNIQUE (source, location)
);
CREATE TABLE source_files (
    sha256           VARCHAR PRIMARY KEY,
    source           VARCHAR NOT NULL,
    file_name        VARCHAR NOT NULL,
    rows_read        INTEGER NOT NULL,
    rows_new         INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    processed_at     TIMESTAMP NOT NULL
);
CREATE TABLE source_watermarks (
    source     VARCHAR PRIMARY KEY,
    watermark  TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
