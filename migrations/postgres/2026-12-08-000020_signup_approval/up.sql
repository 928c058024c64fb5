-- Sign-up control and account administration (issue #14, items 3 and 5): an account made
-- while sign-ups need approval waits (`approved` false) with the reason it gave; admins may
-- silence an account or disable its login. Existing accounts stay approved.
ALTER TABLE accounts ADD COLUMN approved BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE accounts ADD COLUMN signup_reason TEXT;
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN locale TEXT;
ALTER TABLE accounts ADD COLUMN silenced_at TIMESTAMP;
ALTER TABLE accounts ADD COLUMN disabled_at TIMESTAMP;
CREATE UNIQUE INDEX accounts_email ON accounts (email);
CREATE INDEX accounts_pending ON accounts (approved) WHERE NOT approved;

-- Actions taken on the command line (`tidings user approve …`) are logged too, with no
-- moderator: `moderator_id` may be NULL.
ALTER TABLE mod_actions ALTER COLUMN moderator_id DROP NOT NULL;
