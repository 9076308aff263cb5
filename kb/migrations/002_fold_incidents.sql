-- Storm folding: the case leading each open incident (alert name, namespace
-- and owning workload, hashed), shared by every process working the queue,
-- so replicas and a restarted process fold into one investigation.
CREATE TABLE fold_incidents (
    key       TEXT PRIMARY KEY,
    case_id   TEXT NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX fold_incidents_opened_at ON fold_incidents (opened_at);
