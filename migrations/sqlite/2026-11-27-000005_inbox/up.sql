-- Federation inbox and outgoing delivery queue (issue #5).

-- Ids of activities already received, so a repeated delivery changes nothing.
CREATE TABLE inbox_activities (
    ap_id TEXT PRIMARY KEY NOT NULL,
    received_at TIMESTAMP NOT NULL
);

-- The outgoing queue: one row per (activity, inbox), written in the same transaction as
-- the change that causes it; the delivery worker sends due rows and retries with backoff.
CREATE TABLE deliveries (
    id BIGINT PRIMARY KEY NOT NULL,
    inbox_url TEXT NOT NULL,
    activity_json TEXT NOT NULL,
    key_id TEXT NOT NULL,
    actor_account_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE delivered_at IS NULL;
