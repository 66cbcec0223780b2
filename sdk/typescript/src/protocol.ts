// The worker protocol's bodies, as docs/worker-protocol.md describes them (snake_case on the wire).

/** `201` to `POST /v1/workers`. */
export interface Registration {
  worker_id: string;
  heartbeat_secs: number;
  visibility_timeout_secs: number;
  max_wait_secs: number;
}

/** `200` to `POST /v1/workers/{wid}/heartbeat`. */
export interface HeartbeatAnswer {
  /** Job ids asked to cancel. */
  cancel?: string[];
  /** Jobs of `running` that are no longer this worker's: job ids (or `{job_id, attempt}`). */
  lost?: Array<string | { job_id: string; attempt?: number }>;
  state?: "run" | "drain";
}

/** One job of a claim's answer. */
export interface ClaimedJob {
  id: string;
  type: string;
  queue: string;
  user_id: string;
  request: unknown;
  attempt: number;
  max_attempts: number;
  /** The last checkpoint any attempt saved, or null. */
  checkpoint: unknown;
  /** Each recorded side effect's name to its result. */
  effects?: Record<string, unknown> | null;
  /** When this attempt times out (RFC 3339), on the gateway's clock. */
  deadline_at: string | null;
}

export interface ClaimAnswer {
  jobs: ClaimedJob[];
}

/** One item of `POST /v1/workers/{wid}/complete`'s answer, in the order sent. */
export interface BatchCompleteItem {
  id: string;
  attempt: number;
  status: "completed" | "attempt-lost";
  replay?: boolean;
  cancel_requested?: boolean;
}

/** `200` to `POST /v1/jobs/{id}/attempts/{n}/fail`. */
export interface FailAnswer {
  status: "pending" | "failed" | "cancelled";
  replay?: boolean;
  cancel_requested?: boolean;
}

/** The largest request body the gateway accepts (bigger ones get `413`). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Most events, and most completions, in one request. */
export const MAX_ITEMS_PER_REQUEST = 1000;
/** The longest error text sent with a fail (the Java worker's limit too). */
export const MAX_ERROR_CHARS = 4000;
/** Job type names: as the gateway's `Names.JOB_TYPE`. */
export const JOB_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Worker names: letters, digits, `.`, `_`, `-`, up to 64. */
export const WORKER_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** Longest side-effect name. */
export const MAX_EFFECT_NAME_CHARS = 200;
