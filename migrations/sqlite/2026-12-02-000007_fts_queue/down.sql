INSERT INTO posts_fts (rowid, headline, body)
    SELECT p.id, COALESCE(p.headline, ''), p.body
    FROM posts_fts_queue q JOIN posts p ON p.id = q.post_id;
DROP TRIGGER posts_fts_insert;
DROP TRIGGER posts_fts_update;
DROP TRIGGER posts_fts_delete;
DROP TABLE posts_fts_queue;

CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, headline, body) VALUES (new.id, COALESCE(new.headline, ''), new.body);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF headline, body ON posts BEGIN
    DELETE FROM posts_fts WHERE rowid = old.id;
    INSERT INTO posts_fts (rowid, headline, body) VALUES (new.id, COALESCE(new.headline, ''), new.body);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    DELETE FROM posts_fts WHERE rowid = old.id;
END;
