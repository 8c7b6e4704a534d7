-- 0001_initial: members, conversations, questions in clusters, the outbox, digest runs.

-- One row per person per channel. Identity fields are blanked by /xoa_du_lieu and purge.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    consent_at      TEXT,                 -- UTC ISO time she agreed; NULL = never / withdrawn
    consent_version TEXT,
    announcements   INTEGER NOT NULL DEFAULT 1,
    leader_commune  TEXT,                 -- set when she relays for a commune union branch
    created_at      TEXT NOT NULL,
    deleted_at      TEXT,
    UNIQUE (channel, external_id)
);

-- Where each chat is in its conversation, so a restart resumes at the same step.
-- `offered` holds the options last shown: a button press or typed number that is not among
-- them is stale or forged.
CREATE TABLE conversations (
    channel    TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    state      TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    offered    TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);

-- Platform delivery ids already handled, written in the same transaction as their effects.
CREATE TABLE processed_updates (
    channel      TEXT NOT NULL,
    update_key   TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (channel, update_key)
);

CREATE TABLE clusters (
    id           INTEGER PRIMARY KEY,
    dialogue_id  TEXT NOT NULL,
    topic        INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'moi'
                 CHECK (status IN ('moi', 'da_duyet', 'da_chuyen', 'da_tra_loi', 'khong_phu_hop')),
    urgent       INTEGER NOT NULL DEFAULT 0,
    department   TEXT,
    deadline     TEXT,                    -- ISO date the department must answer by
    forwarded_at TEXT,
    answer       TEXT,
    answered_by  TEXT,
    answered_at  TEXT,
    reject_reason TEXT,
    merged_into  INTEGER REFERENCES clusters (id),
    created_at   TEXT NOT NULL
);
CREATE INDEX clusters_by_dialogue ON clusters (dialogue_id, status);

-- Everything a person sent in: her own question ('member'), a leader's relay of N members
-- ('relay'), or her support of a question already asked ('support', empty text).
-- Each has its own receipt code.
CREATE TABLE questions (
    id           INTEGER PRIMARY KEY,
    dialogue_id  TEXT NOT NULL,
    receipt      TEXT NOT NULL UNIQUE,
    user_id      INTEGER REFERENCES users (id),
    channel      TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'member' CHECK (kind IN ('member', 'relay', 'support')),
    commune      TEXT NOT NULL DEFAULT '',
    topic        INTEGER NOT NULL,
    text         TEXT NOT NULL DEFAULT '',
    anonymous    INTEGER NOT NULL DEFAULT 0,
    represented  INTEGER NOT NULL DEFAULT 1,  -- members a leader speaks for
    meeting_date TEXT,
    voice_url    TEXT,
    urgent       INTEGER NOT NULL DEFAULT 0,
    danger       TEXT,                     -- category of the danger words found
    supports_question_id INTEGER REFERENCES questions (id),
    rejected_reason TEXT,
    cluster_id   INTEGER NOT NULL REFERENCES clusters (id),
    created_at   TEXT NOT NULL,
    deleted_at   TEXT
);
CREATE INDEX questions_by_cluster ON questions (cluster_id);
CREATE INDEX questions_by_user ON questions (user_id);
CREATE INDEX questions_by_dialogue ON questions (dialogue_id, created_at);

CREATE TABLE receipt_counters (
    dialogue_id TEXT PRIMARY KEY,
    last        INTEGER NOT NULL
);

-- Messages to people other than the one talking to the bot right now: staff alerts, answers,
-- rejections, announcements. Written in the same transaction as the change that causes them;
-- a worker sends them under the rate limiter. `dedupe_key` makes "tell her once" a constraint.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    text        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    image       BLOB,                       -- a PNG sent before the text (digest chart)
    dedupe_key  TEXT UNIQUE,
    priority    INTEGER NOT NULL DEFAULT 0,  -- higher first: danger alerts jump the queue
    created_at  TEXT NOT NULL,
    not_before  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    sent_at     TEXT,
    failed_at   TEXT,
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox (channel, priority DESC, id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- One row per local day the digest was claimed; the primary key makes "never twice" hold.
CREATE TABLE digest_runs (
    digest_date TEXT PRIMARY KEY,
    claimed_at  TEXT NOT NULL,
    sent_at     TEXT,
    since       TEXT NOT NULL
);

-- One-time codes staff give commune leaders.
CREATE TABLE leader_invites (
    code       TEXT PRIMARY KEY,
    commune    TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_by    INTEGER REFERENCES users (id),
    used_at    TEXT
);
