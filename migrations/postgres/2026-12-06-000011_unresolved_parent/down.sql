ALTER TABLE posts DROP COLUMN in_reply_to_uri;
