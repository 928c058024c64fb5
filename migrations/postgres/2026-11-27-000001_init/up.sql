-- Accounts: local (domain IS NULL) and, later, remote ones fetched over ActivityPub.
CREATE TABLE accounts (
    id BIGINT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    username_lower TEXT NOT NULL,
    domain TEXT,
    display_name TEXT NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    ap_id TEXT NOT NULL UNIQUE,
    url TEXT,
    inbox_url TEXT,
    shared_inbox_url TEXT,
    followers_url TEXT,
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT,
    password_hash TEXT,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    is_moderator BOOLEAN NOT NULL DEFAULT FALSE,
    suspended_at TIMESTAMP,
    last_fetched_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX accounts_local_username ON accounts (username_lower) WHERE domain IS NULL;
CREATE UNIQUE INDEX accounts_remote_username ON accounts (username_lower, domain) WHERE domain IS NOT NULL;

-- Posts: stories (headline set, no parent) and replies (parent set).
CREATE TABLE posts (
    id BIGINT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ap_id TEXT NOT NULL UNIQUE,
    url TEXT,
    local BOOLEAN NOT NULL,
    headline TEXT,
    body TEXT NOT NULL,
    content_html TEXT NOT NULL,
    in_reply_to_id BIGINT REFERENCES posts (id),
    thread_root_id BIGINT REFERENCES posts (id),
    visibility TEXT NOT NULL DEFAULT 'public',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    edited_at TIMESTAMP,
    deleted_at TIMESTAMP
);
CREATE INDEX posts_front ON posts (id) WHERE in_reply_to_id IS NULL AND deleted_at IS NULL;
CREATE INDEX posts_by_account ON posts (account_id, id) WHERE deleted_at IS NULL;
CREATE INDEX posts_thread ON posts (thread_root_id, id);

CREATE TABLE tags (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

-- One row per (tag, post); `name` keeps the casing the author typed.
CREATE TABLE post_tags (
    tag_id BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (tag_id, post_id)
);
CREATE INDEX post_tags_post ON post_tags (post_id);

-- Web sessions; only a SHA-256 of the cookie value is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
