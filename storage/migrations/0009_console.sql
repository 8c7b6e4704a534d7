-- 0009_console: the web console (issue 17): accounts, sessions, login throttling, the audit log,
-- reject-reason templates, departments' written answers and safety cases.

-- One row per person who logs in to the console. `department` is the department's id from
-- config, set only for role 'department'. A disabled account cannot log in; its history stays.
CREATE TABLE console_accounts (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,          -- argon2id, encoded with its own salt and parameters
    role          TEXT NOT NULL CHECK (role IN ('staff', 'department', 'safety', 'admin')),
    department    TEXT,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT,
    CHECK ((role = 'department') = (department IS NOT NULL))
);

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is stored, so a copy of
-- the database does not let anyone log in. A session ends at `expires_at` (absolute) or after
-- the idle limit since `seen_at`, whichever comes first.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES console_accounts (id),
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX console_sessions_by_account ON console_sessions (account_id);

-- Failed logins, per account ("login:NAME") and per client address ("addr:IP"), for throttling.
CREATE TABLE console_login_failures (
    id     INTEGER PRIMARY KEY,
    key    TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX console_login_failures_by_key ON console_login_failures (key, at);

-- Every action of every account, in order. Never changed, never deleted: the triggers refuse it.
-- `detail` holds ids, statuses and staff's own words (a reject reason), never a member's text or
-- identity.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    account    TEXT NOT NULL,             -- the login, or '' for an unknown one
    role       TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    cluster_id INTEGER,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_cluster ON audit_log (cluster_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Reasons staff choose from when rejecting clusters; editable in the console.
CREATE TABLE reject_templates (
    id         INTEGER PRIMARY KEY,
    text       TEXT NOT NULL,
    retired_at TEXT
);
INSERT INTO reject_templates (text) VALUES
    ('Nội dung không thuộc chủ đề của hội nghị đối thoại năm nay.'),
    ('Nội dung đã được trả lời trong câu hỏi khác; Hội sẽ gửi chị câu trả lời chung.'),
    ('Nội dung thuộc thẩm quyền giải quyết của cấp xã; Hội đã chuyển cho UBND xã.'),
    ('Nội dung chưa rõ; chị vui lòng gửi lại câu hỏi cụ thể hơn.');

-- A department's written answer to a cluster sent to it: a draft, then submitted; staff publish
-- it (then it becomes an answer revision and everyone in the cluster is told) or send it back.
CREATE TABLE department_answers (
    id           INTEGER PRIMARY KEY,
    cluster_id   INTEGER NOT NULL REFERENCES clusters (id),
    department   TEXT NOT NULL,
    text         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'submitted'
                 CHECK (status IN ('submitted', 'published', 'returned')),
    written_by   TEXT NOT NULL,
    written_at   TEXT NOT NULL,
    decided_by   TEXT,
    decided_at   TEXT,
    note         TEXT
);
CREATE INDEX department_answers_by_cluster ON department_answers (cluster_id, id);

-- A danger alert as a case for the safety officers: who took it, when she was contacted, to
-- whom she was referred, when it was closed. One per urgent question.
CREATE TABLE safety_cases (
    question_id  INTEGER PRIMARY KEY REFERENCES questions (id),
    taken_by     TEXT,
    taken_at     TEXT,
    contacted_at TEXT,
    referred_to  TEXT,
    closed_at    TEXT
);

-- The console's queue and dashboard read every question of a dialogue (counts per cluster, topic
-- and commune): covering indexes keep those scans in the index, without sorting.
CREATE INDEX questions_console_counts ON questions (dialogue_id, cluster_id, kind, user_id,
    represented, rejected_reason, urgent, danger, deleted_at);
CREATE INDEX questions_console_topics ON questions (dialogue_id, topic, rejected_reason,
    cluster_id);
CREATE INDEX questions_console_communes ON questions (dialogue_id, commune);

-- A counter of changes to what the queue and dashboard count: the console keeps its counts
-- while it is unchanged (bot/web/app.py), whichever process wrote. Its own sessions and audit
-- rows do not bump it.
CREATE TABLE console_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO console_changes (id, n) VALUES (1, 0);
CREATE TRIGGER console_changes_q_insert AFTER INSERT ON questions
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER console_changes_q_update AFTER UPDATE ON questions
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER console_changes_q_delete AFTER DELETE ON questions
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER console_changes_c_insert AFTER INSERT ON clusters
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER console_changes_c_update AFTER UPDATE ON clusters
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER console_changes_c_delete AFTER DELETE ON clusters
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER console_changes_f_insert AFTER INSERT ON forwards
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER console_changes_f_update AFTER UPDATE ON forwards
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER console_changes_f_delete AFTER DELETE ON forwards
BEGIN UPDATE console_changes SET n = n + 1 WHERE id = 1; END;
CREATE INDEX questions_console_cluster_communes ON questions (cluster_id, commune);
