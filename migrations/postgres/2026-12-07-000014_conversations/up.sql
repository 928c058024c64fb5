-- Direct conversations (issue #13, item 3): what each account did with a conversation
-- (a thread holding direct posts it wrote or is mentioned in), keyed by the thread's root.
-- The conversations themselves are read from posts and mentions; only the account's
-- marks are stored: read up to which post, removed up to which post. A direct post newer
-- than both brings a removed conversation back, unread.
CREATE TABLE conversation_marks (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    root_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    read_up_to BIGINT NOT NULL DEFAULT 0,
    removed_up_to BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, root_id)
);
