-- Sweeps are a persisted state machine: planned (accounted, unsigned) →
-- signed → confirmed; a restart resumes the same bundle. A seed UUID is
-- bound to the one bundle hash it may ever sign.
ALTER TABLE sweep ADD COLUMN state VARCHAR(16) NOT NULL DEFAULT 'signed';
ALTER TABLE signed_uuids ADD COLUMN bundle_hash VARCHAR(81) NULL;
