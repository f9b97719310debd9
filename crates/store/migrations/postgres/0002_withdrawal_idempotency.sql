-- A client may send an idempotency key with UserWithdraw, so that a retried
-- request finds the withdrawal it already made instead of making a second.
ALTER TABLE withdrawal ADD COLUMN idempotency_key VARCHAR(64) NULL;
CREATE UNIQUE INDEX withdrawal_idempotency ON withdrawal(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX withdrawal_pending ON withdrawal(requested_at) WHERE sweep IS NULL AND cancelled_at IS NULL;
