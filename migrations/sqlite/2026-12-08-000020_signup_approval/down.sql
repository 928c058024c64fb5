DELETE FROM mod_actions WHERE moderator_id IS NULL;
CREATE TABLE mod_actions_old (
    id BIGINT PRIMARY KEY NOT NULL,
    moderator_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    target_account_id BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    target_post_id BIGINT REFERENCES posts (id) ON DELETE SET NULL,
    report_id BIGINT REFERENCES reports (id) ON DELETE SET NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
INSERT INTO mod_actions_old SELECT * FROM mod_actions;
DROP TABLE mod_actions;
ALTER TABLE mod_actions_old RENAME TO mod_actions;
CREATE INDEX mod_actions_time ON mod_actions (id);
DROP INDEX accounts_pending;
DROP INDEX accounts_email;
ALTER TABLE accounts DROP COLUMN disabled_at;
ALTER TABLE accounts DROP COLUMN silenced_at;
ALTER TABLE accounts DROP COLUMN locale;
ALTER TABLE accounts DROP COLUMN email;
ALTER TABLE accounts DROP COLUMN signup_reason;
ALTER TABLE accounts DROP COLUMN approved;
