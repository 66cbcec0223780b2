import type { CompletionBatcher } from "./completions.js";
import { JobContext } from "./context.js";
import {
  AttemptCancelledError,
  AttemptLostError,
  AttemptTimeoutError,
  NonRetryableError,
  SpoolHttpError,
  WorkerStoppingError,
} from "./errors.js";
import type { Answer, Call, GatewayClient } from "./http.js";
import type { Logger } from "./logger.js";
import {
  type ClaimedJob,
  type FailAnswer,
  MAX_BODY_BYTES,
  MAX_EFFECT_NAME_CHARS,
  MAX_ERROR_CHARS,
  MAX_ITEMS_PER_REQUEST,
} from "./protocol.js";

/** What became of an attempt, as `WorkerOptions.onOutcome` hears it. */
export type OutcomeKind =
  /** The job ended `completed` with the handler's result. */
  | "completed"
  /** The attempt failed and the job will be tried again (it is `pending`). */
  | "retrying"
  /** The attempt failed and the job is dead-lettered (`failed`). */
  | "failed"
  /** The job was cancelled while it ran and ended `cancelled`. */
  | "cancelled"
  /** The attempt was no longer this worker's; nothing was written. */
  | "lost"
  /** The worker stopped before the handler finished; the job went back to pending. */
  | "handed-back"
  /** The outcome could not be written (the gateway refused it, or the worker gave up on it). */
  | "unrecorded";

export interface AttemptOutcome {
  jobId: string;
  type: string;
  queue: string;
  attempt: number;
  outcome: OutcomeKind;
  /** The error the attempt failed with, for `retrying`, `failed` and `cancelled`. */
  error?: string;
  /** From the claim's answer to the outcome being known. */
  millis: number;
}

export interface AttemptDeps {
  client: GatewayClient;
  logger: Logger;
  completions: CompletionBatcher;
  /** How long one request may take. */
  requestTimeoutMillis: number;
  /** The gateway's clock minus this machine's, to read `deadline_at` on our clock. */
  clockSkewMillis: number;
  /** The handler no longer holds a slot (it returned, threw, or was abandoned after an abort). */
  onInactive(run: AttemptRun): void;
  /** The attempt is over for this worker: its outcome is written, or will never be. */
  onEnded(run: AttemptRun, outcome: AttemptOutcome): void;
}

/** The longest result or recorded effect: it must fit in one request body with its envelope. */
const MAX_RESULT_BYTES = MAX_BODY_BYTES - 1024;
/** How long recording a side effect that was done is retried (the gateway away, say). */
const EFFECT_RECORD_RETRY_MILLIS = 60_000;

/**
 * One attempt of one job on this worker, from its claim to its outcome: runs the handler, serves
 * its context's writes (fenced by job id and attempt), and decides the outcome exactly once —
 * the handler's return or throw, a cancel, the deadline, a lost attempt or the worker stopping,
 * whichever comes first. Once the context's signal is aborted the handler is no longer waited for.
 */
export class AttemptRun {
  readonly key: string;
  readonly context: JobContext;
  /** `running` until the outcome is decided, `ending` while it is written, then `ended`. */
  private state: "running" | "ending" | "ended" = "running";
  private active = true;
  private returned = false;
  private cancelled = false;
  private checkpoint: unknown;
  private readonly effects: Map<string, unknown>;
  private readonly onceInFlight = new Map<string, Promise<unknown>>();
  /** `ctx.signal`: aborted on cancel, deadline, lost, or the worker giving the job back. */
  private readonly handlerController = new AbortController();
  /** The outcome's writes: aborted only once the attempt is known to be no longer ours. */
  private readonly writeController = new AbortController();
  private readonly writes: AttemptWrites;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly claimedAt = performance.now();
  private readonly basePath: string;

  constructor(
    readonly job: ClaimedJob,
    private readonly deps: AttemptDeps,
  ) {
    this.key = attemptKey(job.id, job.attempt);
    this.checkpoint = job.checkpoint ?? null;
    this.effects = new Map(Object.entries(job.effects ?? {}));
    this.basePath = `/v1/jobs/${encodeURIComponent(job.id)}/attempts/${job.attempt}`;
    this.writes = new AttemptWrites((events) => this.sendEvents(events));
    this.context = new JobContext(this);
  }

  // ---- what the context reads ----

  get signal(): AbortSignal {
    return this.handlerController.signal;
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  get lastCheckpoint(): unknown {
    return this.checkpoint;
  }

  /** True once the outcome is decided (being written, or known). */
  get outcomeDecided(): boolean {
    return this.state !== "running";
  }

  get deadlineAt(): Date | null {
    const at = this.deadlineMillis();
    return at === null ? null : new Date(at);
  }

  // ---- the handler ----

  start(handler: (ctx: JobContext) => unknown): void {
    this.armDeadline();
    Promise.resolve()
      .then(() => handler(this.context))
      .then(
        (value) => this.handlerReturned(value),
        (error) => this.handlerThrew(error),
      )
      .catch((e) => this.deps.logger.error(`job ${this.job.id}: ending the attempt failed: ${describe(e)}`));
  }

  private async handlerReturned(value: unknown): Promise<void> {
    this.returned = true;
    if (this.state !== "running") {
      this.deps.logger.debug(`job ${this.job.id}: ignored what its handler returned after the attempt was stopped`);
      return;
    }
    this.release();
    let resultJson: string;
    try {
      resultJson = serialise(value === undefined ? null : value, "the handler's result");
    } catch (e) {
      await this.afterWrites();
      if (this.state === "running") {
        this.fail(describe(e), false);
      }
      return;
    }
    // Its events go before its final status: a subscriber reads all the text, then the end.
    await this.afterWrites();
    if (this.state !== "running") {
      return;
    }
    this.complete(resultJson);
  }

  private async handlerThrew(error: unknown): Promise<void> {
    this.returned = true;
    if (this.state !== "running") {
      this.deps.logger.debug(`job ${this.job.id}: its handler ended after the attempt was stopped: ${describe(error)}`);
      return;
    }
    this.release();
    await this.afterWrites();
    if (this.state !== "running") {
      return;
    }
    this.fail(describe(error), !(error instanceof NonRetryableError));
  }

  /** Waits for the writes the handler started; they end by themselves once the signal aborts. */
  private afterWrites(): Promise<void> {
    return this.writes.idle();
  }

  // ---- things that stop it from outside ----

  /** The job was asked to cancel (heartbeat, or `cancel_requested` on an answer). */
  cancel(): void {
    if (this.state !== "running") {
      return;
    }
    this.cancelled = true;
    this.abortHandler(new AttemptCancelledError());
    this.fail("cancelled", false);
  }

  /** The heartbeat listed it as lost, or the worker was declared gone: write nothing more. */
  lose(why: string): void {
    if (this.state === "ended") {
      return;
    }
    this.deps.logger.debug(`job ${this.job.id} attempt ${this.job.attempt} lost: ${why}`);
    const error = new AttemptLostError(why);
    this.abortHandler(error);
    this.writeController.abort(error);
    this.end("lost");
  }

  /** The worker stops and the grace period is over: abort; the leave hands the job back. */
  handBack(): void {
    if (this.state !== "running") {
      return;
    }
    this.abortHandler(new WorkerStoppingError());
    this.end("handed-back");
  }

  /** The worker gives up writing this attempt's outcome (it is leaving). */
  abandon(): void {
    if (this.state === "ended") {
      return;
    }
    const error = new WorkerStoppingError();
    this.abortHandler(error);
    this.writeController.abort(error);
    this.end("unrecorded");
  }

  private armDeadline(): void {
    const at = this.deadlineMillis();
    if (at === null) {
      return;
    }
    const timeoutSecs = Math.max(1, Math.round((at - Date.now()) / 1000));
    // setTimeout holds at most 2^31-1 ms; attempts time out within a week, so this only guards.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.deadlineTimer = setTimeout(() => this.timedOut(timeoutSecs), delay);
  }

  private deadlineMillis(): number | null {
    if (!this.job.deadline_at) {
      return null;
    }
    const at = Date.parse(this.job.deadline_at);
    return Number.isNaN(at) ? null : at - this.deps.clockSkewMillis;
  }

  private timedOut(timeoutSecs: number): void {
    if (this.state !== "running") {
      return;
    }
    const error = new AttemptTimeoutError(timeoutSecs);
    this.abortHandler(error);
    this.fail(error.message, true);
  }

  private abortHandler(reason: Error): void {
    this.release();
    if (!this.handlerController.signal.aborted) {
      this.handlerController.abort(reason);
    }
  }

  /** Frees the handler's slot (once). */
  private release(): void {
    if (this.active) {
      this.active = false;
      this.deps.onInactive(this);
    }
  }

  // ---- the outcome ----

  private complete(resultJson: string): void {
    if (Buffer.byteLength(resultJson) > MAX_RESULT_BYTES) {
      this.fail(`the handler's result is too large: ${Buffer.byteLength(resultJson)} bytes as JSON (at most ${MAX_RESULT_BYTES})`, false);
      return;
    }
    this.state = "ending";
    this.clearDeadline();
    this.deps.completions.complete(this.job.id, this.job.attempt, resultJson, this.writeController.signal).then(
      (status) => this.end(status === "completed" ? "completed" : "lost"),
      (error) => {
        if (this.state === "ended") {
          return;
        }
        if (error instanceof SpoolHttpError && error.status >= 400 && error.status < 500) {
          // The gateway refused this result on its own (too deep, too large): say why, once.
          this.fail(`the gateway refused the handler's result: ${error.detail || error.message}`, false);
          return;
        }
        this.deps.logger.error(`job ${this.job.id}: could not complete attempt ${this.job.attempt}: ${describe(error)}`);
        this.end(error instanceof AttemptLostError ? "lost" : "unrecorded");
      },
    );
  }

  private fail(error: string, retry: boolean): void {
    this.state = "ending";
    this.clearDeadline();
    const text = truncate(error);
    this.deps.client
      .call({
        route: "fail",
        method: "POST",
        path: `${this.basePath}/fail`,
        body: JSON.stringify({ error: text, retry }),
        timeoutMillis: this.deps.requestTimeoutMillis,
        retryForMillis: Infinity,
        signal: this.writeController.signal,
      })
      .then(
        (answer) => {
          const status = (answer.body as FailAnswer | null)?.status;
          const outcome: OutcomeKind = status === "pending" ? "retrying" : status === "cancelled" ? "cancelled" : "failed";
          this.end(outcome, text);
        },
        (e) => {
          if (this.state === "ended") {
            return;
          }
          if (e instanceof AttemptLostError) {
            this.end("lost");
            return;
          }
          this.deps.logger.error(`job ${this.job.id}: could not fail attempt ${this.job.attempt}: ${describe(e)}`);
          this.end("unrecorded", text);
        },
      );
  }

  private end(outcome: OutcomeKind, error?: string): void {
    if (this.state === "ended") {
      return;
    }
    this.state = "ended";
    this.clearDeadline();
    this.release();
    const job = this.job;
    this.deps.onEnded(this, {
      jobId: job.id,
      type: job.type,
      queue: job.queue,
      attempt: job.attempt,
      outcome,
      ...(error === undefined ? {} : { error }),
      millis: performance.now() - this.claimedAt,
    });
  }

  private clearDeadline(): void {
    if (this.deadlineTimer !== undefined) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
    }
  }

  // ---- the context's writes ----

  /** Throws when the handler may no longer write: its signal's reason, or that it has returned. */
  private checkWritable(what: string): void {
    if (this.handlerController.signal.aborted) {
      throw this.handlerController.signal.reason;
    }
    if (this.returned || this.state !== "running") {
      throw new Error(`${what} after the handler of job ${this.job.id} returned: the attempt is over`);
    }
  }

  emit(type: "progress" | "output", data: unknown): Promise<void> {
    if (type !== "progress" && type !== "output") {
      throw new TypeError(`an event's type is "progress" or "output", not ${JSON.stringify(type)}`);
    }
    const event = serialise({ type, data: data === undefined ? null : data }, "the event");
    let written: Promise<void>;
    try {
      this.checkWritable("emit");
      written = this.writes.emit(event);
    } catch (e) {
      written = Promise.reject(e);
    }
    // An emit nobody awaits must not crash the process with an unhandled rejection.
    written.catch(() => {});
    return written;
  }

  async saveCheckpoint(state: unknown): Promise<void> {
    const stateJson = serialise(state === undefined ? null : state, "the checkpoint");
    this.checkWritable("saveCheckpoint");
    await this.writes.run(() =>
      this.attemptCall({ route: "checkpoint", method: "PUT", path: `${this.basePath}/checkpoint`, body: `{"state":${stateJson}}` }),
    );
    this.checkpoint = JSON.parse(stateJson);
  }

  async once<T>(name: string, effect: (idempotencyKey: string) => T | Promise<T>): Promise<T> {
    if (typeof name !== "string" || name.length === 0 || name.length > MAX_EFFECT_NAME_CHARS) {
      throw new TypeError(`a side effect's name is 1 to ${MAX_EFFECT_NAME_CHARS} characters`);
    }
    this.checkWritable("once");
    if (this.effects.has(name)) {
      return this.effects.get(name) as T;
    }
    const running = this.onceInFlight.get(name);
    if (running) {
      return (await running) as T;
    }
    const recorded = this.runOnce(name, effect);
    this.onceInFlight.set(name, recorded);
    try {
      return (await recorded) as T;
    } finally {
      this.onceInFlight.delete(name);
    }
  }

  private async runOnce(name: string, effect: (idempotencyKey: string) => unknown): Promise<unknown> {
    const path = `${this.basePath}/effects/${encodeURIComponent(name)}`;
    // Read first: it also proves the attempt is still ours before the effect is done.
    const read = await this.writes.run(() => this.attemptCall({ route: "effect-get", method: "GET", path }, [404]));
    if (read.status !== 404) {
      this.effects.set(name, read.body?.result ?? null);
      return this.effects.get(name);
    }
    if (read.body?.type !== "urn:spool:problem:effect-not-found") {
      throw new SpoolHttpError(`GET ${path}: 404 ${read.body?.type ?? ""}`, 404, "not-found", String(read.body?.detail ?? ""));
    }
    const value = await effect(`${this.job.id}:${name}`);
    const resultJson = serialise(value === undefined ? null : value, `the result of side effect "${name}"`);
    // Recorded even if the attempt was stopped meanwhile: the effect happened, and a later attempt
    // must not do it again (a write the gateway fences answers 409 and changes nothing).
    const put = await this.writes.run(() =>
      this.attemptCall(
        { route: "effect-put", method: "PUT", path, body: `{"result":${resultJson}}` },
        [],
        this.writeController.signal,
        EFFECT_RECORD_RETRY_MILLIS,
      ),
    );
    const result = put.body?.recorded === false ? (put.body.result ?? null) : JSON.parse(resultJson);
    this.effects.set(name, result);
    if (this.handlerController.signal.aborted) {
      throw this.handlerController.signal.reason;
    }
    return result;
  }

  private async sendEvents(events: string[]): Promise<void> {
    await this.attemptCall({ route: "events", method: "POST", path: `${this.basePath}/events`, body: `{"events":[${events.join(",")}]}` });
  }

  /**
   * One attempt-scoped write: a `409 attempt-lost` stops the attempt (nothing more is written) and
   * `cancel_requested: true` cancels it; either way the caller gets the signal's reason.
   */
  private async attemptCall(
    call: Pick<Call, "route" | "method" | "path" | "body">,
    answerStatuses: readonly number[] = [],
    signal: AbortSignal = this.handlerController.signal,
    retryForMillis = Infinity,
  ): Promise<Answer> {
    let answer: Answer;
    try {
      answer = await this.deps.client.call({
        ...call,
        timeoutMillis: this.deps.requestTimeoutMillis,
        retryForMillis,
        signal,
        answerStatuses,
      });
    } catch (e) {
      if (e instanceof AttemptLostError && this.state === "running") {
        this.deps.logger.debug(`job ${this.job.id} attempt ${this.job.attempt}: ${e.message}`);
        const lost = new AttemptLostError();
        this.abortHandler(lost);
        this.end("lost");
        throw lost;
      }
      throw e;
    }
    if (answer.body?.cancel_requested === true) {
      this.cancel();
      if (this.handlerController.signal.aborted) {
        throw this.handlerController.signal.reason;
      }
    }
    return answer;
  }
}

export function attemptKey(jobId: string, attempt: number): string {
  return `${jobId}/${attempt}`;
}

/**
 * An attempt's writes, one request at a time and in the order the handler made them. Events
 * emitted while a request is in flight are gathered into the next request (up to 1000), so a
 * handler streaming tokens costs one request per round trip, not one per token.
 */
class AttemptWrites {
  private tail: Promise<unknown> = Promise.resolve();
  private open: EventBatch | null = null;

  constructor(private readonly sendEvents: (events: string[]) => Promise<void>) {}

  emit(eventJson: string): Promise<void> {
    const open = this.open;
    if (open !== null && open.fits(eventJson)) {
      open.add(eventJson);
      return open.done;
    }
    const batch = new EventBatch(eventJson);
    this.open = batch;
    this.enqueue(() => {
      if (this.open === batch) {
        this.open = null;
      }
      return this.sendEvents(batch.events);
    }).then(batch.resolve, batch.reject);
    return batch.done;
  }

  /** Runs `write` after everything queued before it; later events go after it. */
  run<T>(write: () => Promise<T>): Promise<T> {
    this.open = null;
    return this.enqueue(write);
  }

  /** Resolves once everything queued so far has been sent or has failed. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }

  private enqueue<T>(write: () => Promise<T>): Promise<T> {
    const written = this.tail.then(write);
    this.tail = written.catch(() => {});
    return written;
  }
}

/** Room kept in a request body for `{"events":[` `]}`. */
const EVENTS_BODY_BYTES = MAX_BODY_BYTES - 1024;

class EventBatch {
  readonly events: string[] = [];
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;
  private bytes = 0;

  constructor(first: string) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {});
    this.add(first);
  }

  fits(eventJson: string): boolean {
    return this.events.length < MAX_ITEMS_PER_REQUEST && this.bytes + Buffer.byteLength(eventJson) + 1 <= EVENTS_BODY_BYTES;
  }

  add(eventJson: string): void {
    this.events.push(eventJson);
    this.bytes += Buffer.byteLength(eventJson) + 1;
  }
}

/** JSON text of `value`, or a TypeError that says what could not be serialised and why. */
function serialise(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    throw new TypeError(`${what} is not JSON-serialisable: ${(e as Error).message}`);
  }
  if (json === undefined) {
    throw new TypeError(`${what} is not JSON-serialisable: ${typeof value}`);
  }
  return json;
}

/** `Name: message`, as the Java worker writes a failure. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    return error.message ? `${error.name}: ${error.message}` : error.name;
  }
  return String(error);
}

function truncate(text: string): string {
  return text.length > MAX_ERROR_CHARS ? text.slice(0, MAX_ERROR_CHARS) : text;
}
