-- Workers in any language (the worker protocol) and claims by job type: every worker row says which
-- job types it serves, so the reaper knows whose streams a dead worker read, and /v1/queues can say
-- whether any live worker serves a type.

-- The job types the worker claims (every worker claims only jobs of these).
ALTER TABLE workers ADD COLUMN types text[] NOT NULL DEFAULT '{}';
-- 'java' (a worker daemon) or 'remote' (registered over the worker protocol, through a gateway).
ALTER TABLE workers ADD COLUMN kind text NOT NULL DEFAULT 'java' CHECK (kind IN ('java', 'remote'));
-- What the worker calls itself, for operators; NULL for Java workers (the id says host and pid).
ALTER TABLE workers ADD COLUMN name text;
-- Its job slots (jobs it runs at once).
ALTER TABLE workers ADD COLUMN concurrency integer;
-- Set by an operator (POST /v1/workers/{id}/drain): a remote worker claims nothing more, finishes
-- what it holds, and leaves.
ALTER TABLE workers ADD COLUMN draining boolean NOT NULL DEFAULT false;
