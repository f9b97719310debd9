-- The event log becomes the feed exchanges build on (GET /v1/events, the
-- SSE stream, gRPC hub.v1.Events/Watch, webhooks): an event may carry a
-- JSON object of details besides its columns, and readers filter by kind.
ALTER TABLE events ADD COLUMN data TEXT NULL;
CREATE INDEX events_kind ON events(kind, id);

-- Before this migration every user-account ledger row logged an event
-- named after its reason, without the balance it left. From now on a
-- ledger row logs `balance_changed`, and the domain events (a deposit
-- credited, a withdrawal requested or cancelled) are logged where they
-- happen, with their references. The old rows keep their history under
-- names outside the feed, so no reader mistakes them for the new events.
UPDATE events SET kind = 'ledger_' || kind
 WHERE kind IN ('deposit_credited', 'buy', 'sell', 'withdrawal', 'withdrawal_cancelled');

-- Webhook endpoints: the feed pushed to an exchange's URL. The event log
-- is the outbox: each endpoint's cursor is the last event it acknowledged
-- (a 2xx), so deliveries survive restarts and crashes and go out in id
-- order. The secret signs every delivery (Standard Webhooks); it is shown
-- once when the endpoint is created.
CREATE TABLE webhook (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    types TEXT NOT NULL,
    description TEXT NOT NULL,
    secret TEXT NOT NULL,
    cursor BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    failing_since BIGINT NULL,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT NULL,
    disabled_reason TEXT NULL,
    deleted_at BIGINT NULL
);

-- Every delivery attempt, append-only: what was sent, what came back.
CREATE TABLE webhook_delivery (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id BIGINT NOT NULL REFERENCES webhook(id),
    event_id BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    status_code BIGINT NULL,
    error TEXT NULL,
    duration_ms BIGINT NOT NULL,
    attempted_at BIGINT NOT NULL,
    next_retry_at BIGINT NULL
);
CREATE INDEX webhook_delivery_by_webhook ON webhook_delivery(webhook_id, id);

-- Transfer batches sent with an idempotency key: a retry with the same key
-- and the same transfers is answered as the first was and settles nothing
-- again; the key is claimed in the transaction that settles the batch.
CREATE TABLE transfer_batch (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key VARCHAR(64) NOT NULL UNIQUE,
    request_hash VARCHAR(64) NOT NULL,
    transfers BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- What the REST API answered to a client's Idempotency-Key: a retry of the
-- same request gets the same answer.
CREATE TABLE api_answer (
    idempotency_key VARCHAR(64) NOT NULL,
    operation TEXT NOT NULL,
    request_hash VARCHAR(64) NOT NULL,
    status BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (idempotency_key, operation)
);
