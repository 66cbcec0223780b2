-- Checkpoints and once-only side effects: what lets a retried agent run resume instead of starting over,
-- and not repeat what it already did to the outside world.

-- The handler's last checkpoint (any JSON), written by the attempt that holds the job, fenced by
-- (id, attempts); a later attempt starts from it.
ALTER TABLE jobs ADD COLUMN checkpoint jsonb;
ALTER TABLE jobs ADD COLUMN checkpoint_at timestamptz;

-- The recorded results of JobContext.once(name, ...): one row per job and name, written at most once.
CREATE TABLE job_side_effects (
  job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  name         text NOT NULL,
  result       jsonb,
  attempt      integer NOT NULL,            -- the attempt that did it
  recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (job_id, name)
);
