-- Boosts (issue #13): the booster's boosts newest first, for home timelines and profiles.
CREATE INDEX announces_account_id ON announces (account_id, id);
