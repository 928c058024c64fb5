ALTER TABLE accounts DROP COLUMN invite_id;
DROP TABLE invites;
