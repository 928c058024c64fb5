DROP INDEX inbox_activities_received_at;
DROP INDEX account_keys_key_id;
DROP TABLE account_keys;
