-- Issue #13: a remote reply whose parent cannot be fetched is stored (as Mastodon does),
-- with the id of the post it replies to kept here; it is shown as a reply to a post that
-- is not available.
ALTER TABLE posts ADD COLUMN in_reply_to_uri TEXT;
