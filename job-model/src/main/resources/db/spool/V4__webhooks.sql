-- Webhooks: a job submitted with a callback_url gets one signed POST each time it ends, delivered
-- through a durable outbox with retries.

ALTER TABLE jobs ADD COLUMN callback_url text;

-- The outbox. A row is written by the trigger below in the same transaction as the status change that
-- ends the job, whoever makes it (a worker's finish, the reaper, a cancel, a hand-back), so a delivery
-- can be neither lost nor sent for an end that did not commit. Workers deliver it.
CREATE TABLE webhook_deliveries (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id           uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  url              text NOT NULL,
  payload          text NOT NULL,                -- the exact body sent and signed, fixed when the job ended
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,   -- POSTs started; the fencing token of the one in flight
  next_attempt_at  timestamptz NOT NULL DEFAULT now(), -- due then; while a POST is in flight, its lease's end
  lease_owner      text,                         -- the worker sending the current attempt
  last_status      integer,                      -- the receiver's last HTTP status, if it answered
  last_error       text,                         -- why the last attempt did not count as delivered
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at      timestamptz                   -- when it was delivered or given up
);

-- Senders claim due deliveries; the job view shows its latest delivery.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id, id DESC);

CREATE FUNCTION ${flyway:defaultSchema}.spool_job_ended_webhook() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${flyway:defaultSchema}.webhook_deliveries (job_id, url, payload)
  VALUES (NEW.id, NEW.callback_url, jsonb_build_object(
      'job_id', NEW.id,
      'type', NEW.type,
      'queue', NEW.queue,
      'status', NEW.status,
      'result', NEW.result,
      'error', NEW.error,
      'attempts', NEW.attempts,
      'submitted_at', to_char(NEW.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'started_at', to_char(NEW.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'finished_at', to_char(NEW.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text);
  -- Wakes the senders at once; identical notifications in one transaction are sent once.
  PERFORM pg_notify('spool_webhooks_' || TG_TABLE_SCHEMA, '');
  RETURN NULL;
END
$$;

-- Only rows that have a callback and just ended pay for the trigger: the WHEN clause is checked
-- without calling the function.
CREATE TRIGGER jobs_ended_webhook AFTER UPDATE OF status ON jobs FOR EACH ROW
  WHEN (NEW.callback_url IS NOT NULL AND NEW.status IN ('completed', 'failed', 'cancelled')
        AND OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION ${flyway:defaultSchema}.spool_job_ended_webhook();
