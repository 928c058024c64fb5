-- Client API (Mastodon-compatible): OAuth apps, codes and tokens (secrets stored hashed),
-- account follows, bookmarks, timeline markers, idempotent posting, content warnings.

CREATE TABLE oauth_apps (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    website TEXT,
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    app_id BIGINT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    app_id BIGINT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    account_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX oauth_tokens_account ON oauth_tokens (account_id);

-- Account follows (local and, later, across servers). state: pending | accepted.
CREATE TABLE follows (
    id BIGINT PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    follower_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    followed_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'accepted',
    created_at TIMESTAMP NOT NULL,
    UNIQUE (follower_id, followed_id)
);
CREATE INDEX follows_followed ON follows (followed_id, id);

CREATE TABLE bookmarks (
    id BIGINT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, post_id)
);

CREATE TABLE markers (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline TEXT NOT NULL,
    last_read_id TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, timeline)
);

-- Idempotency-Key of POST /api/v1/statuses: the same key from the same account returns
-- the status made the first time.
CREATE TABLE idempotency_keys (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, key)
);

ALTER TABLE posts ADD COLUMN spoiler_text TEXT NOT NULL DEFAULT '';
CREATE INDEX posts_by_account_all ON posts (account_id, id);
