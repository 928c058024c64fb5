DROP INDEX posts_by_account_all;
ALTER TABLE posts DROP COLUMN spoiler_text;
DROP TABLE idempotency_keys;
DROP TABLE markers;
DROP TABLE bookmarks;
DROP TABLE follows;
DROP TABLE oauth_tokens;
DROP TABLE oauth_codes;
DROP TABLE oauth_apps;
