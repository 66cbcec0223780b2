-- Idempotent submission: a user's key names one job for a while (SPOOL_IDEMPOTENCY_TTL_SECS), so a
-- client that retries a submission (timeout, crash, network) gets the job it already made.

CREATE TABLE idempotency_keys (
  user_id       text NOT NULL,
  key           text NOT NULL,
  request_hash  text NOT NULL,          -- SHA-256 of the canonical submission: a different body is a conflict
  -- Deferred: the key is taken before its job row is inserted, in the same transaction.
  job_id        uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,   -- after this the key may name a new job
  PRIMARY KEY (user_id, key)
);

-- Gateways sweep expired keys now and then.
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
