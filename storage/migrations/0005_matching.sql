-- 0005_matching: staff's "possible duplicates" list, and where each question first belonged.

-- The cluster a question formed or joined before any staff merge (a split moves it too). The
-- matcher keeps each merged-in cluster's first wordings as one more core of the merged cluster,
-- so a merge is remembered across restarts: later questions like either part join it.
ALTER TABLE questions ADD COLUMN home_cluster_id INTEGER REFERENCES clusters (id);
UPDATE questions SET home_cluster_id = cluster_id;

-- A new question that started its own cluster but came close to an existing one (below the bar
-- for joining automatically): staff confirm (merge) or refuse, once. A pair is proposed once.
CREATE TABLE duplicate_candidates (
    id          INTEGER PRIMARY KEY,
    dialogue_id TEXT NOT NULL,
    cluster_id  INTEGER NOT NULL REFERENCES clusters (id),  -- the newer cluster
    similar_to  INTEGER NOT NULL REFERENCES clusters (id),  -- the existing cluster it resembles
    score       REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'merged', 'refused')),
    created_at  TEXT NOT NULL,
    decided_at  TEXT,
    UNIQUE (cluster_id, similar_to)
);
CREATE INDEX duplicate_candidates_open ON duplicate_candidates (dialogue_id, status);
