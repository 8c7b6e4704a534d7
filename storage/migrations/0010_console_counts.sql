-- 0010_console_counts: the console's queue and dashboard counts kept up to date by triggers, in
-- the transaction of each change (any process, any flow), so no page counts 100,000 questions
-- again after a change; and a department's written answer stored once, in `forwards` and its
-- journal (storage.lifecycle), the console keeping only its review of each submission.

-- Per cluster, over its questions not rejected: `live` questions, `direct` distinct women who
-- asked or supported (an erased asker counts as one per question, as before: -question id),
-- `relayed` members leaders spoke for, `disclosures` questions not deleted that are urgent or a
-- danger disclosure. A cluster is in the queue while live > 0.
CREATE TABLE console_cluster_counts (
    cluster_id  INTEGER PRIMARY KEY,
    live        INTEGER NOT NULL DEFAULT 0,
    direct      INTEGER NOT NULL DEFAULT 0,
    relayed     INTEGER NOT NULL DEFAULT 0,
    disclosures INTEGER NOT NULL DEFAULT 0
);
-- How many questions (asked or supported, not rejected) each woman has in a cluster: `direct`
-- changes only when one reaches or leaves zero.
CREATE TABLE console_cluster_askers (
    cluster_id INTEGER NOT NULL,
    asker      INTEGER NOT NULL,           -- user id, or -question id once the user is erased
    n          INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, asker)
) WITHOUT ROWID;
-- Questions not rejected per dialogue, topic and cluster (the dashboard's topics: clusters and
-- questions per topic).
CREATE TABLE console_topic_counts (
    dialogue_id TEXT NOT NULL,
    topic       INTEGER NOT NULL,
    cluster_id  INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (dialogue_id, topic, cluster_id)
) WITHOUT ROWID;
-- Every question per dialogue and commune ('' for none): the dashboard's communes and total.
CREATE TABLE console_commune_counts (
    dialogue_id TEXT NOT NULL,
    commune     TEXT NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (dialogue_id, commune)
) WITHOUT ROWID;

-- The rows as they are now.
INSERT INTO console_cluster_askers (cluster_id, asker, n)
SELECT cluster_id, COALESCE(user_id, -id), COUNT(*) FROM questions
WHERE rejected_reason IS NULL AND kind IN ('member', 'support')
GROUP BY cluster_id, COALESCE(user_id, -id);
INSERT INTO console_cluster_counts (cluster_id, live, direct, relayed, disclosures)
SELECT q.cluster_id, COUNT(*),
       (SELECT COUNT(*) FROM console_cluster_askers a WHERE a.cluster_id = q.cluster_id),
       COALESCE(SUM(CASE WHEN q.kind = 'relay' THEN q.represented END), 0),
       SUM(q.deleted_at IS NULL AND (q.urgent = 1 OR q.danger IS NOT NULL))
FROM questions q WHERE q.rejected_reason IS NULL GROUP BY q.cluster_id;
INSERT INTO console_topic_counts (dialogue_id, topic, cluster_id, n)
SELECT dialogue_id, topic, cluster_id, COUNT(*) FROM questions WHERE rejected_reason IS NULL
GROUP BY dialogue_id, topic, cluster_id;
INSERT INTO console_commune_counts (dialogue_id, commune, n)
SELECT dialogue_id, commune, COUNT(*) FROM questions GROUP BY dialogue_id, commune;

-- A question's share is added (insert, and the new row of an update) and taken away (delete,
-- and the old row of an update). Each UPDATE trigger fires only when a column it counts
-- changed: an erased text or a changed wording costs nothing here.
CREATE TRIGGER console_counts_q_insert AFTER INSERT ON questions
BEGIN
    INSERT OR IGNORE INTO console_cluster_counts (cluster_id) VALUES (NEW.cluster_id);
    UPDATE console_cluster_counts SET
        live = live + (NEW.rejected_reason IS NULL),
        relayed = relayed + CASE WHEN NEW.rejected_reason IS NULL AND NEW.kind = 'relay'
                                 THEN NEW.represented ELSE 0 END,
        disclosures = disclosures + (NEW.rejected_reason IS NULL AND NEW.deleted_at IS NULL
                                     AND (NEW.urgent = 1 OR NEW.danger IS NOT NULL)),
        direct = direct + (NEW.rejected_reason IS NULL AND NEW.kind IN ('member', 'support')
            AND NOT EXISTS (SELECT 1 FROM console_cluster_askers WHERE cluster_id = NEW.cluster_id
                            AND asker = COALESCE(NEW.user_id, -NEW.id)))
    WHERE cluster_id = NEW.cluster_id;
    INSERT INTO console_cluster_askers (cluster_id, asker, n)
    SELECT NEW.cluster_id, COALESCE(NEW.user_id, -NEW.id), 1
    WHERE NEW.rejected_reason IS NULL AND NEW.kind IN ('member', 'support')
    ON CONFLICT (cluster_id, asker) DO UPDATE SET n = n + 1;
    INSERT INTO console_topic_counts (dialogue_id, topic, cluster_id, n)
    SELECT NEW.dialogue_id, NEW.topic, NEW.cluster_id, 1 WHERE NEW.rejected_reason IS NULL
    ON CONFLICT (dialogue_id, topic, cluster_id) DO UPDATE SET n = n + 1;
    INSERT INTO console_commune_counts (dialogue_id, commune, n)
    VALUES (NEW.dialogue_id, NEW.commune, 1)
    ON CONFLICT (dialogue_id, commune) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER console_counts_q_delete AFTER DELETE ON questions
BEGIN
    UPDATE console_cluster_askers SET n = n - 1
    WHERE OLD.rejected_reason IS NULL AND OLD.kind IN ('member', 'support')
      AND cluster_id = OLD.cluster_id AND asker = COALESCE(OLD.user_id, -OLD.id);
    UPDATE console_cluster_counts SET
        live = live - (OLD.rejected_reason IS NULL),
        relayed = relayed - CASE WHEN OLD.rejected_reason IS NULL AND OLD.kind = 'relay'
                                 THEN OLD.represented ELSE 0 END,
        disclosures = disclosures - (OLD.rejected_reason IS NULL AND OLD.deleted_at IS NULL
                                     AND (OLD.urgent = 1 OR OLD.danger IS NOT NULL)),
        direct = direct - EXISTS (SELECT 1 FROM console_cluster_askers
                                  WHERE cluster_id = OLD.cluster_id
                                    AND asker = COALESCE(OLD.user_id, -OLD.id) AND n = 0)
    WHERE cluster_id = OLD.cluster_id;
    DELETE FROM console_cluster_askers
    WHERE cluster_id = OLD.cluster_id AND asker = COALESCE(OLD.user_id, -OLD.id) AND n = 0;
    UPDATE console_topic_counts SET n = n - 1
    WHERE OLD.rejected_reason IS NULL AND dialogue_id = OLD.dialogue_id AND topic = OLD.topic
      AND cluster_id = OLD.cluster_id;
    DELETE FROM console_topic_counts
    WHERE dialogue_id = OLD.dialogue_id AND topic = OLD.topic AND cluster_id = OLD.cluster_id
      AND n = 0;
    UPDATE console_commune_counts SET n = n - 1
    WHERE dialogue_id = OLD.dialogue_id AND commune = OLD.commune;
    DELETE FROM console_commune_counts
    WHERE dialogue_id = OLD.dialogue_id AND commune = OLD.commune AND n = 0;
END;

-- Per cluster: the old row's share out, the new row's in (a merge moves it between clusters).
CREATE TRIGGER console_counts_q_update_cluster
AFTER UPDATE OF id, cluster_id, kind, user_id, represented, rejected_reason, urgent, danger,
    deleted_at ON questions
WHEN OLD.id IS NOT NEW.id OR OLD.cluster_id IS NOT NEW.cluster_id OR OLD.kind IS NOT NEW.kind
  OR OLD.user_id IS NOT NEW.user_id OR OLD.represented IS NOT NEW.represented
  OR OLD.rejected_reason IS NOT NEW.rejected_reason OR OLD.urgent IS NOT NEW.urgent
  OR OLD.danger IS NOT NEW.danger OR (OLD.deleted_at IS NULL) != (NEW.deleted_at IS NULL)
BEGIN
    UPDATE console_cluster_askers SET n = n - 1
    WHERE OLD.rejected_reason IS NULL AND OLD.kind IN ('member', 'support')
      AND cluster_id = OLD.cluster_id AND asker = COALESCE(OLD.user_id, -OLD.id);
    UPDATE console_cluster_counts SET
        live = live - (OLD.rejected_reason IS NULL),
        relayed = relayed - CASE WHEN OLD.rejected_reason IS NULL AND OLD.kind = 'relay'
                                 THEN OLD.represented ELSE 0 END,
        disclosures = disclosures - (OLD.rejected_reason IS NULL AND OLD.deleted_at IS NULL
                                     AND (OLD.urgent = 1 OR OLD.danger IS NOT NULL)),
        direct = direct - EXISTS (SELECT 1 FROM console_cluster_askers
                                  WHERE cluster_id = OLD.cluster_id
                                    AND asker = COALESCE(OLD.user_id, -OLD.id) AND n = 0)
    WHERE cluster_id = OLD.cluster_id;
    DELETE FROM console_cluster_askers
    WHERE cluster_id = OLD.cluster_id AND asker = COALESCE(OLD.user_id, -OLD.id) AND n = 0;
    INSERT OR IGNORE INTO console_cluster_counts (cluster_id) VALUES (NEW.cluster_id);
    UPDATE console_cluster_counts SET
        live = live + (NEW.rejected_reason IS NULL),
        relayed = relayed + CASE WHEN NEW.rejected_reason IS NULL AND NEW.kind = 'relay'
                                 THEN NEW.represented ELSE 0 END,
        disclosures = disclosures + (NEW.rejected_reason IS NULL AND NEW.deleted_at IS NULL
                                     AND (NEW.urgent = 1 OR NEW.danger IS NOT NULL)),
        direct = direct + (NEW.rejected_reason IS NULL AND NEW.kind IN ('member', 'support')
            AND NOT EXISTS (SELECT 1 FROM console_cluster_askers WHERE cluster_id = NEW.cluster_id
                            AND asker = COALESCE(NEW.user_id, -NEW.id)))
    WHERE cluster_id = NEW.cluster_id;
    INSERT INTO console_cluster_askers (cluster_id, asker, n)
    SELECT NEW.cluster_id, COALESCE(NEW.user_id, -NEW.id), 1
    WHERE NEW.rejected_reason IS NULL AND NEW.kind IN ('member', 'support')
    ON CONFLICT (cluster_id, asker) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER console_counts_q_update_topic
AFTER UPDATE OF dialogue_id, topic, cluster_id, rejected_reason ON questions
WHEN OLD.dialogue_id IS NOT NEW.dialogue_id OR OLD.topic IS NOT NEW.topic
  OR OLD.cluster_id IS NOT NEW.cluster_id
  OR (OLD.rejected_reason IS NULL) != (NEW.rejected_reason IS NULL)
BEGIN
    UPDATE console_topic_counts SET n = n - 1
    WHERE OLD.rejected_reason IS NULL AND dialogue_id = OLD.dialogue_id AND topic = OLD.topic
      AND cluster_id = OLD.cluster_id;
    DELETE FROM console_topic_counts
    WHERE dialogue_id = OLD.dialogue_id AND topic = OLD.topic AND cluster_id = OLD.cluster_id
      AND n = 0;
    INSERT INTO console_topic_counts (dialogue_id, topic, cluster_id, n)
    SELECT NEW.dialogue_id, NEW.topic, NEW.cluster_id, 1 WHERE NEW.rejected_reason IS NULL
    ON CONFLICT (dialogue_id, topic, cluster_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER console_counts_q_update_commune
AFTER UPDATE OF dialogue_id, commune ON questions
WHEN OLD.dialogue_id IS NOT NEW.dialogue_id OR OLD.commune IS NOT NEW.commune
BEGIN
    UPDATE console_commune_counts SET n = n - 1
    WHERE dialogue_id = OLD.dialogue_id AND commune = OLD.commune;
    DELETE FROM console_commune_counts
    WHERE dialogue_id = OLD.dialogue_id AND commune = OLD.commune AND n = 0;
    INSERT INTO console_commune_counts (dialogue_id, commune, n)
    VALUES (NEW.dialogue_id, NEW.commune, 1)
    ON CONFLICT (dialogue_id, commune) DO UPDATE SET n = n + 1;
END;

-- Live (not merged) clusters per dialogue, status and urgent mark: the dashboard's statuses and
-- its urgent clusters still open.
CREATE TABLE console_status_counts (
    dialogue_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    urgent      INTEGER NOT NULL,          -- 1 for urgent = 1, else 0
    n           INTEGER NOT NULL,
    PRIMARY KEY (dialogue_id, status, urgent)
) WITHOUT ROWID;
INSERT INTO console_status_counts (dialogue_id, status, urgent, n)
SELECT dialogue_id, status, urgent = 1, COUNT(*) FROM clusters WHERE merged_into IS NULL
GROUP BY dialogue_id, status, urgent = 1;

CREATE TRIGGER console_counts_c_insert AFTER INSERT ON clusters WHEN NEW.merged_into IS NULL
BEGIN
    INSERT INTO console_status_counts (dialogue_id, status, urgent, n)
    VALUES (NEW.dialogue_id, NEW.status, NEW.urgent = 1, 1)
    ON CONFLICT (dialogue_id, status, urgent) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER console_counts_c_delete AFTER DELETE ON clusters WHEN OLD.merged_into IS NULL
BEGIN
    UPDATE console_status_counts SET n = n - 1
    WHERE dialogue_id = OLD.dialogue_id AND status = OLD.status AND urgent = (OLD.urgent = 1);
    DELETE FROM console_status_counts
    WHERE dialogue_id = OLD.dialogue_id AND status = OLD.status AND urgent = (OLD.urgent = 1)
      AND n = 0;
END;

CREATE TRIGGER console_counts_c_update
AFTER UPDATE OF dialogue_id, status, urgent, merged_into ON clusters
WHEN OLD.dialogue_id IS NOT NEW.dialogue_id OR OLD.status IS NOT NEW.status
  OR (OLD.urgent = 1) IS NOT (NEW.urgent = 1)
  OR (OLD.merged_into IS NULL) != (NEW.merged_into IS NULL)
BEGIN
    UPDATE console_status_counts SET n = n - 1
    WHERE OLD.merged_into IS NULL AND dialogue_id = OLD.dialogue_id AND status = OLD.status
      AND urgent = (OLD.urgent = 1);
    DELETE FROM console_status_counts
    WHERE dialogue_id = OLD.dialogue_id AND status = OLD.status AND urgent = (OLD.urgent = 1)
      AND n = 0;
    INSERT INTO console_status_counts (dialogue_id, status, urgent, n)
    SELECT NEW.dialogue_id, NEW.status, NEW.urgent = 1, 1 WHERE NEW.merged_into IS NULL
    ON CONFLICT (dialogue_id, status, urgent) DO UPDATE SET n = n + 1;
END;

-- Late forwards (not answered, past their deadline) without reading every forward.
CREATE INDEX forwards_open_by_deadline ON forwards (deadline, cluster_id)
WHERE answered_at IS NULL AND withdrawn_at IS NULL;

-- The change counter of 0009 only told the console when to count everything again.
DROP TRIGGER console_changes_q_insert;
DROP TRIGGER console_changes_q_update;
DROP TRIGGER console_changes_q_delete;
DROP TRIGGER console_changes_c_insert;
DROP TRIGGER console_changes_c_update;
DROP TRIGGER console_changes_c_delete;
DROP TRIGGER console_changes_f_insert;
DROP TRIGGER console_changes_f_update;
DROP TRIGGER console_changes_f_delete;
DROP TABLE console_changes;

-- A department's answer is the forward's (forwards.answer, the current text) and each version
-- it sent is an 'answered' step of the journal (cluster_steps.note): what reports, reminders,
-- chat commands and exports read. department_answers kept a second copy of the text; it now
-- holds only staff's review of one submission and points at its step.
ALTER TABLE department_answers ADD COLUMN step_id INTEGER REFERENCES cluster_steps (id);
-- Each submission was journalled by the same request (same cluster, department, text, time);
-- failing that, the latest step of the same text.
UPDATE department_answers SET step_id = (
    SELECT s.id FROM cluster_steps s
    WHERE s.cluster_id = department_answers.cluster_id AND s.step = 'answered'
      AND s.department_name = department_answers.department
      AND s.note = department_answers.text AND s.at = department_answers.written_at
    ORDER BY s.id DESC LIMIT 1);
UPDATE department_answers SET step_id = (
    SELECT s.id FROM cluster_steps s
    WHERE s.cluster_id = department_answers.cluster_id AND s.step = 'answered'
      AND s.department_name = department_answers.department
      AND s.note = department_answers.text
    ORDER BY s.id DESC LIMIT 1)
WHERE step_id IS NULL;
-- Any without one (none expected) becomes a journal step, so no text is lost.
INSERT INTO cluster_steps (cluster_id, step, department_id, department_name, note, at, by)
SELECT a.cluster_id, 'answered',
       COALESCE((SELECT f.department_id FROM forwards f WHERE f.cluster_id = a.cluster_id
                 AND f.department_name = a.department ORDER BY f.id DESC LIMIT 1), ''),
       a.department, a.text, a.written_at, 'console:' || a.written_by
FROM department_answers a WHERE a.step_id IS NULL ORDER BY a.id;
UPDATE department_answers SET step_id = (
    SELECT s.id FROM cluster_steps s
    WHERE s.cluster_id = department_answers.cluster_id AND s.step = 'answered'
      AND s.department_name = department_answers.department
      AND s.note = department_answers.text AND s.at = department_answers.written_at
    ORDER BY s.id DESC LIMIT 1)
WHERE step_id IS NULL;
ALTER TABLE department_answers DROP COLUMN text;
CREATE INDEX department_answers_by_step ON department_answers (step_id);
