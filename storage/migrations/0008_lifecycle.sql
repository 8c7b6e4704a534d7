-- 0008_lifecycle: a cluster's life after forwarding (issue 16), each step dated and attributed.
--
-- clusters.department / deadline / forwarded_at stay the lead department's forward (digest,
-- /xem, older exports); these tables hold the whole picture. "by" columns name who did it:
-- "channel:user id" of a staff member ("telegram:900"), or "console:<account>" from the web
-- console.

-- One row per (cluster, department): the lead department and each co-operating one, each with
-- its own deadline and written answer. Forwarding again to another set withdraws the rows not
-- in it (kept, with withdrawn_at, so the history and the reports stay true).
CREATE TABLE forwards (
    id              INTEGER PRIMARY KEY,
    cluster_id      INTEGER NOT NULL REFERENCES clusters (id),
    department_id   TEXT NOT NULL,          -- config [[departments]] id; '' before 0008
    department_name TEXT NOT NULL,          -- its name when forwarded
    role            TEXT NOT NULL CHECK (role IN ('lead', 'cooperating')),
    deadline        TEXT NOT NULL,          -- ISO date the written answer is due
    forwarded_at    TEXT NOT NULL,
    forwarded_by    TEXT NOT NULL,
    answer          TEXT,                   -- the department's written answer
    answered_at     TEXT,                   -- first time it answered (on time or late)
    answered_by     TEXT,
    withdrawn_at    TEXT,
    withdrawn_by    TEXT,
    UNIQUE (cluster_id, department_id)
);
CREATE INDEX forwards_by_department ON forwards (department_id, deadline);

-- The journal of a cluster's steps, append-only: forwarded, answered (by a department),
-- discussed (at the dialogue; note = the chair's conclusion, if any), committed (department =
-- the agency, note = what, due = by when), resolving, resolved / unresolvable (note = result).
-- The cluster's stage is its latest step after 'answered'.
CREATE TABLE cluster_steps (
    id              INTEGER PRIMARY KEY,
    cluster_id      INTEGER NOT NULL REFERENCES clusters (id),
    step            TEXT NOT NULL CHECK (step IN ('forwarded', 'answered', 'discussed',
                        'committed', 'resolving', 'resolved', 'unresolvable')),
    department_id   TEXT,
    department_name TEXT,
    note            TEXT,
    due             TEXT,                   -- ISO date (a forward's deadline, a commitment's)
    at              TEXT NOT NULL,
    by              TEXT NOT NULL
);
CREATE INDEX cluster_steps_by_cluster ON cluster_steps (cluster_id, id);

-- One row per question whose sender has been sent a step (a commitment, a result), queued in
-- the outbox in the same transaction: each person hears each step once, across restarts, and a
-- woman with two questions in the cluster gets one message (as answer_notices for answers).
CREATE TABLE step_notices (
    question_id INTEGER NOT NULL REFERENCES questions (id),
    step_id     INTEGER NOT NULL REFERENCES cluster_steps (id),
    told_at     TEXT NOT NULL,
    PRIMARY KEY (question_id, step_id)
);

-- One row per reminder that fired ("fwd:<forward id>:before", "commit:<step id>:due"...), in
-- the transaction that queues its messages: a restart or a second run never resends it.
CREATE TABLE reminders (
    key      TEXT PRIMARY KEY,
    fired_at TEXT NOT NULL
);

-- Forwards made before this migration: the lead department, known by name only.
INSERT INTO forwards (cluster_id, department_id, department_name, role, deadline,
                      forwarded_at, forwarded_by, answer, answered_at, answered_by)
SELECT id, '', department, 'lead', deadline, COALESCE(forwarded_at, created_at), '',
       CASE WHEN answered_by = department THEN answer END,
       CASE WHEN answered_by = department THEN answered_at END,
       CASE WHEN answered_by = department THEN '' END
FROM clusters WHERE department IS NOT NULL AND deadline IS NOT NULL;
