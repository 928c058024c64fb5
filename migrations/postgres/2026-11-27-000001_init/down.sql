DROP TABLE sessions;
DROP TABLE post_tags;
DROP TABLE tags;
DROP TABLE posts;
DROP TABLE accounts;
