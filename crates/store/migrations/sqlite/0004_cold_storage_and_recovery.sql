-- Cold storage without editing SQL: a Hub address's seed UUID can be
-- exported for offline keeping and removed (replaced by a marker that is
-- not a UUID), then brought back. seed_exported_at says when it left.
ALTER TABLE hub_address ADD COLUMN seed_exported_at BIGINT NULL;

-- RecoverFunds signs a key a second time (funds sent to an address after
-- its sweep). Each such signature is allowed for one bundle hash, recorded
-- here before signing; the table is append-only.
CREATE TABLE recovery_signature (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seed_uuid VARCHAR(64) NOT NULL,
    bundle_hash VARCHAR(81) NOT NULL,
    sweep BIGINT NOT NULL REFERENCES sweep(id),
    created_at BIGINT NOT NULL,
    UNIQUE (seed_uuid, bundle_hash)
);
