import type { AttemptRun } from "./attempt.js";

/**
 * What a handler sees of its job and of Spool, for one attempt. Every write names the attempt it
 * belongs to: once the attempt is no longer current (cancelled, timed out, lost, handed back) the
 * writes throw the reason, which is also `signal.reason`.
 *
 * `TRequest` is the submitted request's shape, `TCheckpoint` the checkpoint's.
 */
export class JobContext<TRequest = any, TCheckpoint = any> {
  /** The job's id (a UUID). */
  readonly jobId: string;
  /** The job's type, one the worker handles. */
  readonly type: string;
  /** The queue the job was submitted to. */
  readonly queue: string;
  /** The user who submitted it. */
  readonly userId: string;
  /** The submitted request (a JSON object). */
  readonly request: TRequest;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** How many attempts the job gets in all. */
  readonly maxAttempts: number;
  /** When this attempt times out (on this machine's clock), or null if it never does. */
  readonly deadlineAt: Date | null;
  readonly #run: AttemptRun;

  /** Made by the worker for each attempt it claims; handlers receive it. */
  constructor(run: AttemptRun) {
    const job = run.job;
    this.#run = run;
    this.jobId = job.id;
    this.type = job.type;
    this.queue = job.queue;
    this.userId = job.user_id;
    this.request = job.request as TRequest;
    this.attempt = job.attempt;
    this.maxAttempts = job.max_attempts;
    this.deadlineAt = run.deadlineAt;
  }

  /**
   * The last checkpoint saved by any attempt of this job (this one's latest `saveCheckpoint`
   * included), or null if there is none: a later attempt goes on from here instead of starting over.
   */
  get checkpoint(): TCheckpoint | null {
    return this.#run.lastCheckpoint as TCheckpoint | null;
  }

  /** True once the job was asked to cancel (the signal is aborted too). */
  get cancelled(): boolean {
    return this.#run.isCancelled;
  }

  /**
   * Aborted when the attempt must stop: the job was cancelled, the deadline passed, the attempt
   * was lost, or the worker is stopping and its grace period ran out. Pass it to `fetch` and the
   * like. Its `reason` is an `AttemptAbortedError` saying which. The SDK does not wait for the
   * handler once it is aborted: what the handler returns later is ignored.
   */
  get signal(): AbortSignal {
    return this.#run.signal;
  }

  /**
   * Appends an event to the job's log, streamed live to whoever follows the job (SSE, WebSocket):
   * `progress` (any JSON, e.g. `{"step": 3, "of": 10}`) or `output` (partial results, e.g.
   * `{"text": "..."}`). Resolves once the gateway has it. Events emitted while an earlier write is
   * in flight go together in the next request, in order. All of them are in the log before the
   * job's final status. Throws a TypeError at once for another type or data that is not JSON.
   */
  emit(type: "progress" | "output", data: unknown): Promise<void> {
    return this.#run.emit(type, data);
  }

  /**
   * Saves `state` (any JSON) as the job's checkpoint, durably, after the events emitted before it.
   * A later attempt (after a crash, a timeout or a failure) finds it in `checkpoint`.
   */
  saveCheckpoint(state: TCheckpoint): Promise<void> {
    return this.#run.saveCheckpoint(state);
  }

  /**
   * Runs a side effect at most once per job, across all its attempts: the first attempt to get
   * here runs `effect` and records its result; later attempts (and later calls in this one) get the
   * recorded result back without running it. `effect` receives the idempotency key
   * `<job id>:<name>` to pass to the outside service, which covers a crash between doing the
   * effect and recording it. The result is returned as recorded (through JSON), the first time too.
   *
   * @param name names the side effect within the job, e.g. `"charge"` (1 to 200 characters)
   */
  once<T>(name: string, effect: (idempotencyKey: string) => T | Promise<T>): Promise<T> {
    return this.#run.once(name, effect);
  }
}
