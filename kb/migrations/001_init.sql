-- K8flex knowledge base: cases (every investigation, also the durable
-- queue), feedback votes, and store metadata. The embedding column gets its
-- dimension, and its HNSW index, from the application at first start.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE kb_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE alert_cases (
    id               TEXT PRIMARY KEY,
    alert_name       TEXT NOT NULL DEFAULT '',
    severity         TEXT NOT NULL DEFAULT '',
    category         TEXT NOT NULL DEFAULT '',
    namespace        TEXT NOT NULL DEFAULT '',
    target           TEXT NOT NULL DEFAULT '',
    fingerprint      TEXT NOT NULL DEFAULT '',
    starts_at        TIMESTAMPTZ,
    labels           JSONB,
    summary          TEXT NOT NULL DEFAULT '',
    analysis         TEXT NOT NULL DEFAULT '',
    root_cause       TEXT NOT NULL DEFAULT '',
    findings         JSONB,
    evidence         JSONB,
    analyzer         TEXT NOT NULL DEFAULT '',
    model            TEXT NOT NULL DEFAULT '',
    usage            JSONB,
    error            TEXT NOT NULL DEFAULT '',
    channel          TEXT NOT NULL DEFAULT '',
    thread_ts        TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    attempts         INT NOT NULL DEFAULT 0,
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_until      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    validated_at     TIMESTAMPTZ,
    resolved_at      TIMESTAMPTZ,
    voted_at         TIMESTAMPTZ,
    verdict          TEXT NOT NULL DEFAULT '',
    validated        BOOLEAN NOT NULL DEFAULT false,
    correct_votes    INT NOT NULL DEFAULT 0,
    incorrect_votes  INT NOT NULL DEFAULT 0,
    request          JSONB,
    -- Set only while the case is validated: the HNSW index holds exactly
    -- the searchable cases.
    embedding        vector
);

-- One case per firing of an alert (Alertmanager re-sends, replicas).
CREATE UNIQUE INDEX alert_cases_alert_key ON alert_cases (fingerprint, starts_at) WHERE fingerprint <> '';
CREATE INDEX alert_cases_queue ON alert_cases (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX alert_cases_created ON alert_cases (created_at DESC, id DESC);
CREATE INDEX alert_cases_thread ON alert_cases (channel, thread_ts) WHERE thread_ts <> '';
CREATE INDEX alert_cases_rated ON alert_cases (alert_name, category) WHERE verdict <> '';

CREATE TABLE feedback_votes (
    case_id  TEXT NOT NULL REFERENCES alert_cases (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    correct  BOOLEAN NOT NULL,
    source   TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
