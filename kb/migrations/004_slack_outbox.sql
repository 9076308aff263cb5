-- The Slack outbox: each message of a case's thread as it must end up,
-- until Slack took it. A process holds the effects it is sending
-- (lease_owner) while its row in slack_outbox_holders is renewed; those
-- of a process that stopped are claimed by another.
CREATE TABLE slack_outbox (
    case_id     TEXT NOT NULL REFERENCES alert_cases (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    channel     TEXT NOT NULL,
    thread_ts   TEXT NOT NULL DEFAULT '',
    ts          TEXT NOT NULL DEFAULT '',
    blocks      TEXT NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    version     BIGINT NOT NULL,
    since       TIMESTAMPTZ NOT NULL,
    lease_owner TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (case_id, key)
);

CREATE INDEX slack_outbox_since ON slack_outbox (since);

CREATE TABLE slack_outbox_holders (
    owner TEXT PRIMARY KEY,
    until TIMESTAMPTZ NOT NULL
);
