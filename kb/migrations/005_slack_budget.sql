-- Slack's rate budget as each process spent it: the calls it made in the
-- current window of each scope (a Web API method, or a method in one
-- channel) and the pause Slack asked for (Retry-After). A process that
-- starts, or a replica, counts these calls against its own budget.
CREATE TABLE slack_budget (
    owner       TEXT NOT NULL,
    scope       TEXT NOT NULL,
    calls       TIMESTAMPTZ[] NOT NULL DEFAULT '{}',
    pause_until TIMESTAMPTZ,
    updated     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, scope)
);

CREATE INDEX slack_budget_updated ON slack_budget (updated);
