DROP INDEX announces_account_id;
