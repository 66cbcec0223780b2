-- Liveness is per worker, not per job (design note 4): one row per worker process, refreshed every
-- heartbeat whatever the worker holds. A running job whose lease_owner has no fresh row here is
-- returned to pending by any worker's reaper.
CREATE TABLE workers (
  id            text PRIMARY KEY,
  queues        text[] NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON COLUMN jobs.lease_owner IS
  'the worker running the current attempt; once the job has ended, the worker that ran its last attempt';
