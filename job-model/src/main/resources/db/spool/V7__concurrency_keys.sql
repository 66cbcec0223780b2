-- Concurrency keys: jobs of one user with the same key (say, a conversation) run one at a time, in
-- submission order, across all workers.
ALTER TABLE jobs ADD COLUMN concurrency_key text;

-- Claims look for an earlier pending or a running job of the same key; releases look for the next.
CREATE INDEX jobs_concurrency_key ON jobs (user_id, concurrency_key, id)
  WHERE concurrency_key IS NOT NULL AND status IN ('pending', 'running');
