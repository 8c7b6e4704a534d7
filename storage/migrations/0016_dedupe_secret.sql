-- 0016_dedupe_secret: outbox dedupe keys never hold a raw chat or user id (red-team, promise 4).
--
-- A key that must name a recipient (a commune leader's danger alert) names her by a keyed hash
-- (storage/dedupe.py) made with this installation's random key, so the key column read alone,
-- in the database, its WAL or a backup, does not give her chat id. Deleting her data also
-- clears the keys of the rows sent to her (storage.queries.delete_user_data).
CREATE TABLE dedupe_secret (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BLOB NOT NULL
);
INSERT INTO dedupe_secret (id, value) VALUES (1, randomblob(32));

-- Keys written before this migration ended in "<channel>:<chat id>"; those alerts were handled
-- long ago, so each keeps a key of its own that names nobody.
UPDATE outbox SET dedupe_key = 'danger-commune-old:' || id
WHERE dedupe_key LIKE 'danger-commune:%';
