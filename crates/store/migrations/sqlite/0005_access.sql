-- API access: each caller is a named token (only the hex SHA-256 of the
-- bearer token is stored, never the token) or a client-certificate CN
-- mapping, with the scopes it may use. Rows are never deleted: a revoked
-- row keeps its name, scopes and times for the audit trail, and the name
-- may then be given to a new token. token_hash is VARCHAR, not CHAR: the
-- database drivers' common layer cannot read PostgreSQL's CHAR type.
CREATE TABLE api_token (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL,
    token_hash VARCHAR(64) NULL UNIQUE CHECK (length(token_hash) = 64),
    client_cn VARCHAR(255) NULL,
    scopes VARCHAR(64) NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NULL,
    last_used_at BIGINT NULL,
    revoked_at BIGINT NULL,
    CHECK ((token_hash IS NOT NULL AND client_cn IS NULL) OR (token_hash IS NULL AND client_cn IS NOT NULL))
);
CREATE UNIQUE INDEX api_token_active_name ON api_token(name) WHERE revoked_at IS NULL;
CREATE UNIQUE INDEX api_token_active_client_cn ON api_token(client_cn) WHERE revoked_at IS NULL AND client_cn IS NOT NULL;

-- Who made each change: the token name (or `admin-cli`) of the caller on
-- whose behalf the transaction ran; NULL for Hub's own background work.
ALTER TABLE events ADD COLUMN actor VARCHAR(64) NULL;
CREATE INDEX events_audit ON events(id) WHERE actor IS NOT NULL;
