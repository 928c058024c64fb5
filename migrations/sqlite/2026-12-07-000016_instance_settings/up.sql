-- Instance settings as keys and values (issue #14): the identity fixed at first start
-- (`domain`, `scheme`) and what the admin sets (`name`, `rules`, `registrations`, ...).
CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
