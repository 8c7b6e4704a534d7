-- 0011_files: files the console keeps on the union's server (issue 17): a department's PDF with
-- its written answer, and members' Telegram voice messages fetched once from the Bot API.
--
-- Both live in the database, not as files beside it: the daily backup and `restore` carry them
-- with the rows they belong to, the answer and its PDF are recorded in one transaction, and
-- secure_delete (storage/db.py) overwrites a deleted blob's pages like any deleted text, so
-- deleting a member's data or a purge leaves no copy on disk once the WAL is checkpointed.

-- The PDF a department attached to one written answer (department_answers.id). `filename` is
-- already made safe (ASCII letters, digits, '-', '_', '.', ending .pdf); `department_id` is the
-- department's id from config, the only department account allowed to read it. `revision_id`:
-- the answer revision staff published it as; whoever is told that revision is sent the PDF.
CREATE TABLE answer_attachments (
    id            INTEGER PRIMARY KEY,
    answer_id     INTEGER NOT NULL UNIQUE,
    revision_id   INTEGER,
    cluster_id    INTEGER NOT NULL,
    department_id TEXT NOT NULL,
    filename      TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    content       BLOB NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX answer_attachments_by_cluster ON answer_attachments (cluster_id);
CREATE INDEX answer_attachments_by_revision ON answer_attachments (revision_id);
CREATE TRIGGER answer_attachments_gone AFTER DELETE ON department_answers
BEGIN DELETE FROM answer_attachments WHERE answer_id = OLD.id; END;

-- A question's voice message as fetched from the channel (`source` is the questions.voice_url it
-- was fetched for). Whenever the question loses its voice link (her data deleted, a purge, a
-- withdrawn consent) or the question row goes, the audio goes with it.
CREATE TABLE voice_files (
    question_id INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    mime_type   TEXT NOT NULL,
    content     BLOB NOT NULL,
    fetched_at  TEXT NOT NULL
);
CREATE TRIGGER voice_files_gone_with_link AFTER UPDATE OF voice_url ON questions
WHEN NEW.voice_url IS NULL OR NEW.voice_url IS NOT OLD.voice_url
BEGIN DELETE FROM voice_files WHERE question_id = NEW.id; END;
CREATE TRIGGER voice_files_gone_with_question AFTER DELETE ON questions
BEGIN DELETE FROM voice_files WHERE question_id = OLD.id; END;

-- An outbox row that sends an answer's PDF (purpose 'answer_pdf') names the attachment; the
-- sender reads the bytes when it sends, so the PDF is stored once however many are told.
ALTER TABLE outbox ADD COLUMN attachment_id INTEGER;
