-- Storm digests: one Slack message per (channel, group) that counts the
-- alerts of a storm instead of a thread per alert. slack_digest_members
-- holds which cases were counted, so a case investigated again after a
-- crash is not counted twice.
CREATE TABLE slack_digests (
    channel     TEXT NOT NULL,
    grp         TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    ts          TEXT NOT NULL DEFAULT '',
    alerts      INTEGER NOT NULL DEFAULT 0,
    by_workload JSONB NOT NULL DEFAULT '{}',
    samples     JSONB NOT NULL DEFAULT '[]',
    started     TIMESTAMPTZ NOT NULL,
    updated     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, grp)
);

CREATE TABLE slack_digest_members (
    channel TEXT NOT NULL,
    grp     TEXT NOT NULL,
    case_id TEXT NOT NULL,
    PRIMARY KEY (channel, grp, case_id)
);
