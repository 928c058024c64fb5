-- Sign-up control and account administration (issue #14, items 3 and 5): an account made
-- while sign-ups need approval waits (`approved` false) with the reason it gave; admins may
-- silence an account or disable its login. Existing accounts stay approved.
ALTER TABLE accounts ADD COLUMN approved BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN signup_reason TEXT;
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN locale TEXT;
ALTER TABLE accounts ADD COLUMN silenced_at TIMESTAMP;
ALTER TABLE accounts ADD COLUMN disabled_at TIMESTAMP;
CREATE UNIQUE INDEX accounts_email ON accounts (email);
CREATE INDEX accounts_pending ON accounts (approved) WHERE approved = 0;

-- Actions taken on the command line (`tidings user approve …`) are logged too, with no
-- moderator: `moderator_id` may be NULL (SQLite cannot drop NOT NULL in place).
CREATE TABLE mod_actions_new (
    id BIGINT PRIMARY KEY NOT NULL,
    moderator_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    target_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    target_post_id BIGINT REFERENCES posts (id) ON DELETE SET NULL,
    report_id BIGINT REFERENCES reports (id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
INSERT INTO mod_actions_new SELECT id, moderator_id, action, target_account_id, target_post_id, report_id, note, created_at FROM mod_actions;
DROP TABLE mod_actions;
ALTER TABLE mod_actions_new RENAME TO mod_actions;
CREATE INDEX mod_actions_time ON mod_actions (id);
