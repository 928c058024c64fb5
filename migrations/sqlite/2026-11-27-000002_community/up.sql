-- Community features: votes, reactions, replies' counters, story follows, notifications,
-- reports with a moderation log, and full-text search.

-- Counters kept beside each post so lists read them without a query per post.
ALTER TABLE posts ADD COLUMN up_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN down_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN score BIGINT NOT NULL DEFAULT 0;
-- Wilson lower bound of the up-vote share (95%), for the "best" order.
ALTER TABLE posts ADD COLUMN best DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN reply_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN share_count BIGINT NOT NULL DEFAULT 0;
-- Set when a moderator removes the post (and, for a story, its thread).
ALTER TABLE posts ADD COLUMN removed_at TIMESTAMP;
CREATE INDEX posts_top ON posts (score, id) WHERE in_reply_to_id IS NULL AND deleted_at IS NULL;
CREATE INDEX posts_best ON posts (best, id) WHERE in_reply_to_id IS NULL AND deleted_at IS NULL;

-- One vote per person per post: +1 (Like) or -1 (Dislike).
CREATE TABLE votes (
    id BIGINT PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    value INTEGER NOT NULL CHECK (value IN (-1, 1)),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, post_id)
);
CREATE INDEX votes_post ON votes (post_id);

-- One of each emoji per person per post (EmojiReact).
CREATE TABLE reactions (
    id BIGINT PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    emoji TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, post_id, emoji)
);
CREATE INDEX reactions_post ON reactions (post_id, emoji);

CREATE TABLE story_follows (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, post_id)
);
CREATE INDEX story_follows_post ON story_follows (post_id);

-- kind: reply | mention | vote | reaction
CREATE TABLE notifications (
    id BIGINT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id BIGINT REFERENCES posts (id) ON DELETE CASCADE,
    detail TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_account ON notifications (account_id, id);
CREATE INDEX notifications_unread ON notifications (account_id) WHERE read_at IS NULL;

-- status: open | resolved | dismissed. reporter_id is NULL for reports from other servers.
CREATE TABLE reports (
    id BIGINT PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    reporter_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    target_account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_post_id BIGINT REFERENCES posts (id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by BIGINT REFERENCES accounts (id) ON DELETE SET NULL
);
CREATE INDEX reports_status ON reports (status, id);

-- Every moderator action, for accountability.
CREATE TABLE mod_actions (
    id BIGINT PRIMARY KEY NOT NULL,
    moderator_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    target_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    target_post_id BIGINT REFERENCES posts (id) ON DELETE SET NULL,
    report_id BIGINT REFERENCES reports (id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX mod_actions_time ON mod_actions (id);

-- Full-text search over headline and body (FTS5), kept in step by triggers.
CREATE VIRTUAL TABLE posts_fts USING fts5 (headline, body, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO posts_fts (rowid, headline, body) SELECT id, COALESCE(headline, ''), body FROM posts;
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, headline, body) VALUES (new.id, COALESCE(new.headline, ''), new.body);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF headline, body ON posts BEGIN
    DELETE FROM posts_fts WHERE rowid = old.id;
    INSERT INTO posts_fts (rowid, headline, body) VALUES (new.id, COALESCE(new.headline, ''), new.body);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    DELETE FROM posts_fts WHERE rowid = old.id;
END;
