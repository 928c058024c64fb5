DROP INDEX notifications_group;
ALTER TABLE notifications DROP COLUMN group_key;
