-- Polls (issue #13, item 6): a story or reply may carry one. The poll's id is its post's.
-- `options` holds the titles and `counts` the votes per option, both JSON arrays of the
-- same length: for our polls the counts are recomputed from `poll_votes` on each vote;
-- for remote ones they are what the last `Question` said (plus our own votes since).
-- `voters_count` is NULL when a remote poll does not say it. `closed` marks that the end
-- was handled (notifications, the last Update); the periodic job claims a poll by
-- setting it from false to true, so the end is handled once, whatever the number of
-- processes.
CREATE TABLE polls (
    post_id BIGINT PRIMARY KEY NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    options TEXT NOT NULL,
    counts TEXT NOT NULL,
    multiple BOOLEAN NOT NULL,
    expires_at TIMESTAMP,
    voters_count BIGINT,
    closed BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX polls_open ON polls (closed, expires_at);
-- One row per choice of a voter: local votes on any poll, remote votes on ours.
CREATE TABLE poll_votes (
    id BIGINT PRIMARY KEY NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    choice INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (post_id, account_id, choice)
);
CREATE INDEX poll_votes_account ON poll_votes (account_id, post_id);
