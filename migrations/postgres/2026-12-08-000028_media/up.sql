-- Media attachments (issue #15): uploads of local accounts and attachments of remote
-- posts. An upload starts as `processing` (its file waits under the media folder's
-- incoming/), becomes `ready` with its files (content-addressed names, see src/media) or
-- `failed` with the reason. `post_id` is set when it is attached (at most 4 per post, in
-- `position` order); an upload never attached is removed after a day. Remote attachments
-- keep the peer's URLs in `remote_url` / `remote_preview_url`.
CREATE TABLE media (
    id BIGINT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_id BIGINT REFERENCES posts (id) ON DELETE SET NULL,
    position INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    file_name TEXT,
    content_type TEXT,
    file_size BIGINT,
    width INTEGER,
    height INTEGER,
    preview_name TEXT,
    preview_width INTEGER,
    preview_height INTEGER,
    blurhash TEXT,
    description TEXT NOT NULL DEFAULT '',
    focus_x DOUBLE PRECISION,
    focus_y DOUBLE PRECISION,
    remote_url TEXT,
    remote_preview_url TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX media_post ON media (post_id, position);
CREATE INDEX media_account ON media (account_id, created_at);
CREATE INDEX media_file ON media (file_name);
CREATE INDEX media_preview ON media (preview_name);
