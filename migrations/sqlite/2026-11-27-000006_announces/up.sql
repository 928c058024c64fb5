-- Shares of our posts by remote accounts (incoming Announce), issue #5.
CREATE TABLE announces (
    id BIGINT PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, post_id)
);
CREATE INDEX announces_post ON announces (post_id);
