-- Defederation (issue #14, item 4): servers blocked with a severity, Mastodon's fields, and
-- the servers listed for the allow-list mode (instance setting `federation = allowlist`).
CREATE TABLE domain_blocks (
    id BIGINT PRIMARY KEY NOT NULL,
    -- Lower case, ASCII (punycode), no port: a block covers the domain and its subdomains.
    domain TEXT NOT NULL UNIQUE,
    -- silence | suspend | noop
    severity TEXT NOT NULL,
    reject_media BOOLEAN NOT NULL DEFAULT FALSE,
    reject_reports BOOLEAN NOT NULL DEFAULT FALSE,
    private_comment TEXT,
    public_comment TEXT,
    obfuscate BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE domain_allows (
    id BIGINT PRIMARY KEY NOT NULL,
    domain TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
