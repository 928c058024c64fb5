DROP TABLE instance_keys;
