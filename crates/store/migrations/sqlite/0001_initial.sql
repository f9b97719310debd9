-- Hub schema, SQLite. Table and column names follow the original Hub
-- (hub-behaviour.md §3) so an existing database can be adopted later.
-- Differences: timestamps are integer milliseconds since the epoch (the
-- original stored second-resolution DATETIMEs), cached balances carry CHECK
-- constraints, deposits are unique per (address, bundle), and new tables
-- hold the address pool and the event log.

CREATE TABLE user_account (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    identifier VARCHAR(64) NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_address (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address VARCHAR(81) NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES user_account(id),
    seed_uuid VARCHAR(64) NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    quarantined_at BIGINT NULL,
    quarantine_reason TEXT NULL
);
CREATE INDEX user_address_user ON user_address(user_id);

CREATE TABLE hub_address (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address VARCHAR(81) NOT NULL UNIQUE,
    seed_uuid VARCHAR(64) NOT NULL UNIQUE,
    is_cold_storage INTEGER NOT NULL DEFAULT 0,
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    created_at BIGINT NOT NULL
);

CREATE TABLE sweep (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bundle_hash VARCHAR(81) NOT NULL UNIQUE,
    trytes TEXT NOT NULL,
    into_hub_address BIGINT NOT NULL REFERENCES hub_address(id),
    confirmed INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE withdrawal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid VARCHAR(36) NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES user_account(id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    payout_address VARCHAR(81) NOT NULL,
    tag VARCHAR(27) NULL,
    sweep BIGINT NULL REFERENCES sweep(id),
    requested_at BIGINT NOT NULL,
    cancelled_at BIGINT NULL
);
CREATE INDEX withdrawal_requested ON withdrawal(requested_at);

CREATE TABLE hub_address_balance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hub_address BIGINT NOT NULL REFERENCES hub_address(id),
    amount BIGINT NOT NULL,
    reason INTEGER NOT NULL CHECK ((reason = 0 AND amount >= 0) OR (reason = 1 AND amount < 0)),
    sweep BIGINT NOT NULL REFERENCES sweep(id),
    occured_at BIGINT NOT NULL
);
CREATE INDEX hub_address_balance_address ON hub_address_balance(hub_address, reason);

CREATE TABLE user_address_balance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_address BIGINT NOT NULL REFERENCES user_address(id),
    amount BIGINT NOT NULL,
    reason INTEGER NOT NULL CHECK (
        (reason = 0 AND tail_hash IS NOT NULL AND bundle_hash IS NOT NULL AND amount > 0)
        OR (reason = 1 AND sweep IS NOT NULL AND amount < 0)),
    tail_hash VARCHAR(81) NULL,
    bundle_hash VARCHAR(81) NULL,
    sweep BIGINT NULL REFERENCES sweep(id),
    message TEXT NULL,
    occured_at BIGINT NOT NULL
);
CREATE INDEX user_address_balance_address ON user_address_balance(user_address, reason);
CREATE INDEX user_address_balance_time ON user_address_balance(occured_at);
-- A deposit bundle is credited to an address at most once, whatever its reattachments.
CREATE UNIQUE INDEX user_address_deposit_once ON user_address_balance(user_address, bundle_hash) WHERE reason = 0;

CREATE TABLE user_account_balance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES user_account(id),
    amount BIGINT NOT NULL,
    reason INTEGER NOT NULL CHECK (
        (reason = 0 AND sweep IS NOT NULL AND amount > 0)
        OR (reason = 1 AND amount > 0)
        OR (reason = 2 AND withdrawal IS NOT NULL AND amount > 0)
        OR (reason = 3 AND withdrawal IS NOT NULL AND amount < 0)
        OR (reason = 4 AND amount < 0)),
    sweep BIGINT NULL REFERENCES sweep(id),
    withdrawal BIGINT NULL REFERENCES withdrawal(id),
    occured_at BIGINT NOT NULL
);
CREATE INDEX user_account_balance_user ON user_account_balance(user_id, occured_at);
CREATE INDEX user_account_balance_time ON user_account_balance(occured_at);

CREATE TABLE sweep_tails (
    hash VARCHAR(81) PRIMARY KEY,
    sweep BIGINT NOT NULL REFERENCES sweep(id),
    confirmed INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX sweep_tails_sweep ON sweep_tails(sweep);

CREATE TABLE signed_uuids (
    uuid VARCHAR(64) PRIMARY KEY
);

-- Deposit addresses derived ahead of time, so GetDepositAddress never waits for Argon2.
CREATE TABLE address_pool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seed_uuid VARCHAR(64) NOT NULL UNIQUE,
    address VARCHAR(81) NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Every balance change, in order; the id is the cursor of the event API.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind VARCHAR(32) NOT NULL,
    user_id BIGINT NULL REFERENCES user_account(id),
    address VARCHAR(81) NULL,
    amount BIGINT NOT NULL,
    reference VARCHAR(81) NULL,
    occurred_at BIGINT NOT NULL
);
