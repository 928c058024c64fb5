-- Issue #12: a post marked sensitive (a remote note's `sensitive`, a client app's
-- `sensitive`), with or without a content warning (`spoiler_text`, a remote `summary`).
ALTER TABLE posts ADD COLUMN sensitive BOOLEAN NOT NULL DEFAULT 0;
-- Posts that already carry a warning are sensitive, as client apps expect.
UPDATE posts SET sensitive = 1 WHERE spoiler_text <> '';
