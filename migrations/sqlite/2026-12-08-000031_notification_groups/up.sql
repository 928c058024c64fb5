-- Grouped notifications (issue #16, item 4; Mastodon 4.3's /api/v2/notifications):
-- favourites and boosts of one post, and follows, that come within 12 hours of the
-- group's start share a group_key ("favourite-POST-HOUR", "reblog-POST-HOUR",
-- "follow-HOUR"). NULL: the notification is a group of its own ("ungrouped-ID"), as every
-- other kind is, and as notifications stored before this migration stay.
ALTER TABLE notifications ADD COLUMN group_key TEXT;
CREATE INDEX notifications_group ON notifications (account_id, group_key, id);
