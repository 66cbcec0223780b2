-- Retention: finished jobs are deleted by the workers' pruner once past their retention, counted
-- from finished_at, with everything that belongs to them (ON DELETE CASCADE).

-- A job's own retention in seconds, if its submission asked for one (0: kept forever); NULL: the
-- retention setting of the status it ended with.
ALTER TABLE jobs ADD COLUMN retention_secs integer CHECK (retention_secs >= 0);
-- For a job with its own retention: when it may be pruned (finished_at plus retention_secs), set by
-- the trigger below whenever finished_at is written; NULL while it has not ended, or kept forever.
ALTER TABLE jobs ADD COLUMN prune_after timestamptz;

-- What the pruner walks: ended jobs on the settings' retention, per status, oldest end first.
CREATE INDEX jobs_finished ON jobs (status, finished_at)
  WHERE finished_at IS NOT NULL AND retention_secs IS NULL;
-- The few with a retention of their own, by when they may go.
CREATE INDEX jobs_prune_after ON jobs (prune_after) WHERE prune_after IS NOT NULL;
-- A pruned job's idempotency key goes with it (the cascade looks it up by job).
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);

CREATE FUNCTION ${flyway:defaultSchema}.spool_job_prune_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.prune_after := CASE WHEN NEW.finished_at IS NULL OR NEW.retention_secs = 0 THEN NULL
                          ELSE NEW.finished_at + make_interval(secs => NEW.retention_secs) END;
  RETURN NEW;
END
$$;

-- Only jobs with a retention of their own pay for it: the WHEN is all the others see.
CREATE TRIGGER jobs_prune_after BEFORE UPDATE OF finished_at ON jobs FOR EACH ROW
  WHEN (NEW.retention_secs IS NOT NULL)
  EXECUTE FUNCTION ${flyway:defaultSchema}.spool_job_prune_after();
