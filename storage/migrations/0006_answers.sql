-- 0006_answers: every version of a cluster's answer, and which version each sender was told.
--
-- clusters.answer, answered_by and answered_at stay the current answer (exports, /cua_toi):
-- these tables keep the history and make "tell her each revision once" a constraint.

-- One row per version: 1 for the first answer, 2 for its first correction, and so on.
CREATE TABLE answer_revisions (
    id          INTEGER PRIMARY KEY,
    cluster_id  INTEGER NOT NULL REFERENCES clusters (id),
    revision    INTEGER NOT NULL,
    answer      TEXT NOT NULL,
    agency      TEXT NOT NULL,
    recorded_by TEXT NOT NULL,            -- "channel:user id" of the staff member; '' before 0006
    recorded_at TEXT NOT NULL,
    UNIQUE (cluster_id, revision)
);

-- One row per question whose sender has been sent a revision (queued in the outbox in the same
-- transaction). The latest row of a question is the answer she knows, so a later notice can
-- say what it replaces.
CREATE TABLE answer_notices (
    id          INTEGER PRIMARY KEY,
    question_id INTEGER NOT NULL REFERENCES questions (id),
    revision_id INTEGER NOT NULL REFERENCES answer_revisions (id),
    told_at     TEXT NOT NULL,
    UNIQUE (question_id, revision_id)
);

-- Answers recorded before this migration become revision 1 of their cluster.
INSERT INTO answer_revisions (cluster_id, revision, answer, agency, recorded_by, recorded_at)
SELECT id, 1, answer, COALESCE(answered_by, ''), '', COALESCE(answered_at, created_at)
FROM clusters WHERE answer IS NOT NULL;

-- Whoever the old code queued an answer for (key "answer:<cluster>:<question>", the cluster
-- she was in then) knows revision 1 of that cluster: she is not told it again, and a later
-- notice is worded as replacing it.
INSERT INTO answer_notices (question_id, revision_id, told_at)
SELECT q.id, r.id, old.created_at
FROM (
    SELECT created_at,
           CAST(substr(rest, 1, instr(rest, ':') - 1) AS INTEGER) AS cluster_id,
           CAST(substr(rest, instr(rest, ':') + 1) AS INTEGER) AS question_id
    FROM (SELECT created_at, substr(dedupe_key, 8) AS rest FROM outbox
          WHERE purpose = 'answer' AND dedupe_key LIKE 'answer:%:%')
) AS old
JOIN questions q ON q.id = old.question_id
JOIN answer_revisions r ON r.cluster_id = old.cluster_id AND r.revision = 1;
