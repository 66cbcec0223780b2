/**
 * Throw from a handler to fail the job at once, whatever attempts it has left: the job is
 * dead-lettered (`failed`) with this error. Any other error is retried while attempts remain.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NonRetryableError";
  }
}

/**
 * Why an attempt was stopped from outside the handler. It is the reason of `ctx.signal` once that
 * signal is aborted, and what every later `ctx` call throws. Its subclasses say which case it was.
 */
export class AttemptAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AttemptAbortedError";
  }
}

/**
 * The attempt is no longer this worker's (the gateway answered `409 attempt-lost`, the heartbeat
 * listed it as lost, or the worker was declared gone). The SDK writes nothing more for it: stop.
 */
export class AttemptLostError extends AttemptAbortedError {
  constructor(message = "this attempt is no longer current: the job was reaped, handed back, cancelled or finished by another") {
    super(message);
    this.name = "AttemptLostError";
  }
}

/** The job was asked to cancel; the SDK ends it `cancelled` without waiting for the handler. */
export class AttemptCancelledError extends AttemptAbortedError {
  constructor() {
    super("the job was cancelled");
    this.name = "AttemptCancelledError";
  }
}

/** The attempt ran past its `deadline_at`; the SDK failed it with `retry: true`. */
export class AttemptTimeoutError extends AttemptAbortedError {
  /** The attempt's time limit, in whole seconds. */
  readonly timeoutSecs: number;

  constructor(timeoutSecs: number) {
    super(`timed out after ${timeoutSecs} s`);
    this.name = "AttemptTimeoutError";
    this.timeoutSecs = timeoutSecs;
  }
}

/** The worker is stopping and the grace period ran out: the job is handed back to pending. */
export class WorkerStoppingError extends AttemptAbortedError {
  constructor() {
    super("the worker is stopping: the job is handed back");
    this.name = "WorkerStoppingError";
  }
}

/**
 * An answer from the gateway that is an error and not one the SDK retries: a `4xx`, or a `5xx`
 * that stayed after the retries. `slug` is the problem's type without `urn:spool:problem:`.
 */
export class SpoolHttpError extends Error {
  /** The HTTP status; 0 when no answer came (network error or timeout, after the retries). */
  readonly status: number;
  /** The problem slug, e.g. `validation`, `worker-gone`; empty when the body was no problem. */
  readonly slug: string;
  /** The problem's `detail` (or `title`), when it had one. */
  readonly detail: string;

  constructor(message: string, status: number, slug: string, detail: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SpoolHttpError";
    this.status = status;
    this.slug = slug;
    this.detail = detail;
  }
}
