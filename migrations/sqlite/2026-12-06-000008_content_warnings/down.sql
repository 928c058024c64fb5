ALTER TABLE posts DROP COLUMN sensitive;
