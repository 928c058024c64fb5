-- Issue #12. Every key a remote actor publishes (publicKey may be an array): a request
-- signed with any of them verifies. accounts.public_key_pem keeps the first.
CREATE TABLE account_keys (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    PRIMARY KEY (account_id, key_id)
);
CREATE INDEX account_keys_key_id ON account_keys (key_id);

-- The record of received activity ids is pruned by age.
CREATE INDEX inbox_activities_received_at ON inbox_activities (received_at);
