-- Spool's durable store. Postgres is the source of truth (design note 1); Redis only signals.

CREATE TABLE jobs (
  id            uuid PRIMARY KEY,                 -- UUIDv7: sorts by submission time
  type          text NOT NULL,
  queue         text NOT NULL,
  user_id       text NOT NULL,
  request       jsonb NOT NULL,
  status        text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  result        jsonb,
  error         text,
  attempts      integer NOT NULL DEFAULT 0,       -- attempts started; the fencing token of the running one
  max_attempts  integer NOT NULL CHECK (max_attempts >= 1),
  priority      integer NOT NULL DEFAULT 0,       -- higher first within a queue
  run_at        timestamptz NOT NULL DEFAULT now(), -- not claimed before this
  lease_owner   text,                             -- worker id holding the running attempt
  submitted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  started_at    timestamptz,
  finished_at   timestamptz
);

-- The API lists a user's jobs newest first.
CREATE INDEX jobs_user_newest ON jobs (user_id, id DESC);
-- Claiming straight from Postgres (Redis down) and re-signalling read only pending rows.
CREATE INDEX jobs_pending ON jobs (queue, priority DESC, run_at, id) WHERE status = 'pending';
-- Recovering the jobs of a dead worker reads only running rows.
CREATE INDEX jobs_running_owner ON jobs (lease_owner) WHERE status = 'running';

-- Job types some worker has registered, so a gateway deployed without the handlers' jars still knows
-- which types it may accept.
CREATE TABLE job_types (
  type      text PRIMARY KEY,
  seen_at   timestamptz NOT NULL DEFAULT now()
);
