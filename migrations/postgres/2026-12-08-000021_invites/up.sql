-- Invitation links (issue #14, item 3): made by staff (or users, when the instance allows),
-- with an optional use limit and expiry; `created_by` NULL: made on the command line.
-- An account made with one remembers it (`accounts.invite_id`).
CREATE TABLE invites (
    id BIGINT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    created_by BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX invites_created_by ON invites (created_by);
-- No REFERENCES here: accounts -> invites -> accounts would be a cycle, which `db copy`
-- cannot order (and SQLite cannot drop such a column in down.sql); an invite is
-- never deleted but with the account that made it, and a dangling id only names none.
ALTER TABLE accounts ADD COLUMN invite_id BIGINT;
