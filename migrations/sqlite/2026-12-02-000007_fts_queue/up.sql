-- FTS5 writes its pending terms out as a new index segment at every SAVEPOINT and
-- RELEASE. The inbox applies each activity of a batch in its own savepoint, so indexing
-- a post from a trigger wrote one segment (and merged segments) per activity: a third of
-- the writer's time. Index changes are now queued in a plain table and applied once per
-- write transaction, before its COMMIT (db::write_tx), in one statement.
CREATE TABLE posts_fts_queue (post_id BIGINT PRIMARY KEY NOT NULL);

DROP TRIGGER posts_fts_insert;
DROP TRIGGER posts_fts_update;
DROP TRIGGER posts_fts_delete;

CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT OR IGNORE INTO posts_fts_queue (post_id) VALUES (new.id);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF headline, body ON posts BEGIN
    DELETE FROM posts_fts WHERE rowid = old.id;
    INSERT OR IGNORE INTO posts_fts_queue (post_id) VALUES (new.id);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    DELETE FROM posts_fts WHERE rowid = old.id;
    DELETE FROM posts_fts_queue WHERE post_id = old.id;
END;
