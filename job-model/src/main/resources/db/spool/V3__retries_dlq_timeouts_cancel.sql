-- Per-job timeout, cancellation requests, requeues from the dead-letter queue.

-- A run past this many seconds is interrupted and the attempt fails (and is retried like any failure).
ALTER TABLE jobs ADD COLUMN timeout_secs integer NOT NULL DEFAULT 3600 CHECK (timeout_secs > 0);
-- Set by POST /v1/jobs/{id}/cancel on a running job: the durable half of the cancel signal, so a
-- worker that missed the pub/sub message still sees it at its next heartbeat.
ALTER TABLE jobs ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
-- attempts started before the last requeue from the dead-letter queue. attempts itself never goes
-- down (it is the fencing token), so a requeue grants max_attempts more by moving this base.
ALTER TABLE jobs ADD COLUMN attempts_base integer NOT NULL DEFAULT 0;
-- A dead-lettered job discarded by a person: still failed, no longer listed in the DLQ.
ALTER TABLE jobs ADD COLUMN discarded_at timestamptz;

-- The dead-letter queue, per user, newest first.
CREATE INDEX jobs_dead_letters ON jobs (user_id, id DESC) WHERE status = 'failed' AND discarded_at IS NULL;
-- A worker's heartbeat looks for cancellation requests among its own running jobs.
CREATE INDEX jobs_cancel_requested ON jobs (lease_owner) WHERE status = 'running' AND cancel_requested;
