-- The Slack messages of a case's thread besides its root (the analysis
-- replies), so a ✅/❌ reaction on one finds its case after a restart.
CREATE TABLE slack_messages (
    channel TEXT NOT NULL,
    ts      TEXT NOT NULL,
    case_id TEXT NOT NULL REFERENCES alert_cases (id) ON DELETE CASCADE,
    PRIMARY KEY (channel, ts)
);
