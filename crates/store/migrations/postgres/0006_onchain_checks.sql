-- Before a key signs, Hub asks the node which bundles spend from its
-- address; a spend Hub did not make (a database rolled back after a
-- broadcast, a key used outside Hub) takes a Hub address out of sweeping,
-- as a deposit address already could be.
ALTER TABLE hub_address ADD COLUMN quarantined_at BIGINT NULL;
ALTER TABLE hub_address ADD COLUMN quarantine_reason TEXT NULL;

-- SignBundle signs an already-swept key for a bundle hash the caller
-- built; each such signature is recorded (append-only) so that the check
-- before any later signature knows this spend is Hub's own.
CREATE TABLE sign_bundle_signature (
    seed_uuid VARCHAR(64) NOT NULL,
    bundle_hash VARCHAR(81) NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (seed_uuid, bundle_hash)
);

-- Migration 0003 gave every existing sweep the state 'signed', including
-- those the original had already marked confirmed; they belong in
-- 'confirmed' (the attacher would otherwise attend them forever).
UPDATE sweep SET state = 'confirmed' WHERE confirmed = 1 AND state <> 'confirmed';

-- The network this database belongs to: the coordinator address of the
-- first node Hub ran against. Hub refuses to start against another
-- network, so balances of one (a devnet) never meet the chain of another.
CREATE TABLE network (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    coordinator_address VARCHAR(81) NOT NULL,
    recorded_at BIGINT NOT NULL
);
