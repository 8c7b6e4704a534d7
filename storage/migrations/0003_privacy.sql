-- 0003_privacy: what one member may see of another's question, whom an outbox row is about,
-- invite codes that expire and lock after wrong tries.

-- A wording of the cluster staff approved for other members to read (the similar-question
-- offer). NULL: members see a masked text, never the raw words.
ALTER TABLE clusters ADD COLUMN public_text TEXT;

-- The member a message is about (a danger alert, an urgent notice), so deleting her data finds
-- it even when it was sent to staff rather than to her.
ALTER TABLE outbox ADD COLUMN about_user_id INTEGER;

-- After this time the code no longer works (NULL: made before codes expired; treated as expired).
ALTER TABLE leader_invites ADD COLUMN expires_at TEXT;

-- Wrong invite codes per user: after too many, /can_bo is refused until locked_until.
CREATE TABLE invite_failures (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures     INTEGER NOT NULL DEFAULT 0,
    first_at     TEXT NOT NULL,
    locked_until TEXT
);
