-- Accounts a post mentions (issue #13): local and remote posts alike. They are the
-- audience of direct posts and part of the audience of followers-only ones, the API's
-- `mentions`, and the links of `@name@host` in remote posts.
CREATE TABLE mentions (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, account_id)
);
-- "Posts that mention me": direct messages, conversations, the visibility check.
CREATE INDEX mentions_account ON mentions (account_id, post_id);
