-- Delivery guarantees (issue 12).
-- Outbox leases: a sender claims rows for a while before sending them, so even two senders on
-- one database (one should never run: see storage/lock.py) cannot send a row twice.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;

-- Deliveries are deduplicated per bot: a new token, or Telegram restarting its update ids after
-- a long idle, must not make new messages look like duplicates. Rows older than the retention
-- window are pruned (queries.prune_stale). The old rows are dropped: keyed without the bot they
-- can only cause the false duplicates this fixes; Telegram redelivers nothing already confirmed.
DROP TABLE processed_updates;
CREATE TABLE processed_updates (
    channel      TEXT NOT NULL,
    bot          TEXT NOT NULL,          -- the bot's own id on that channel ('' where unknown)
    update_key   TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (channel, bot, update_key)
);
CREATE INDEX processed_updates_age ON processed_updates (processed_at);
