-- The instance actor's key pair (the `Application` actor at /actor that signs fetches not
-- made for a user, and later sends reports). One row, id 'main', made on first use.

CREATE TABLE instance_keys (
    id TEXT PRIMARY KEY NOT NULL,
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
