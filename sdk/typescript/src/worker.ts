import { type AttemptOutcome, AttemptRun, describe } from "./attempt.js";
import { CompletionBatcher } from "./completions.js";
import type { JobContext } from "./context.js";
import { SpoolHttpError } from "./errors.js";
import { type Answer, GatewayClient, type RequestRecord } from "./http.js";
import { consoleLogger, type Logger } from "./logger.js";
import {
  type ClaimedJob,
  type HeartbeatAnswer,
  JOB_TYPE_PATTERN,
  MAX_ITEMS_PER_REQUEST,
  type Registration,
  WORKER_NAME_PATTERN,
} from "./protocol.js";
import { pause } from "./timing.js";

/** A job type's handler: its resolved value (any JSON; `undefined` is `null`) is the job's result. */
export type JobHandler<TRequest = any, TCheckpoint = any> = (ctx: JobContext<TRequest, TCheckpoint>) => unknown;

export interface WorkerOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. Required. */
  url: string;
  /** A worker key (one of the gateway's `SPOOL_WORKER_KEYS`), sent as `Authorization: Bearer`. Required. */
  key: string;
  /** Queues to claim from. Default `["default"]`. */
  queues?: string[];
  /** Jobs run at once (1–10000). Default 10. */
  concurrency?: number;
  /** What the worker calls itself for operators (letters, digits, `.`, `_`, `-`, up to 64). Default: the key's name. */
  name?: string;
  /** On stop, how long running handlers may finish before they are aborted and their jobs handed back, in seconds. Default 30. */
  shutdownGraceSecs?: number;
  /** Stop gracefully on SIGTERM and SIGINT (a second one ends the grace period at once). Default true. */
  installSignalHandlers?: boolean;
  /** How long one request to the gateway may take, in seconds (a claim gets its wait on top). Default 10. */
  requestTimeoutSecs?: number;
  /** Where the worker logs. Default: the console with a `[spool-worker]` prefix, without debug lines. */
  logger?: Logger;
  /** Called for every HTTP request the worker makes (each retry too): for counting and metrics. */
  onRequest?: (request: RequestRecord) => void;
  /** Called once per attempt when its outcome is known: for counting and metrics. */
  onOutcome?: (outcome: AttemptOutcome) => void;
}

const DEFAULT_CONCURRENCY = 10;
const MAX_CONCURRENCY = 10_000;
const DEFAULT_SHUTDOWN_GRACE_SECS = 30;
const DEFAULT_REQUEST_TIMEOUT_SECS = 10;
const MAX_TYPES = 64;
/** A claim's timeout is its wait plus this. */
const CLAIM_TIMEOUT_MARGIN_MILLIS = 10_000;
/** After a claim that failed for a reason retrying will not fix at once (a 4xx), wait this. */
const CLAIM_ERROR_PAUSE_MILLIS = 5_000;
/** At the end of a stop, how long outcomes still being written may take. */
const FLUSH_MILLIS = 15_000;
/** How long the leave (`DELETE /v1/workers/{wid}`) is retried. */
const LEAVE_RETRY_MILLIS = 10_000;
/** A claim's `Date` header this far from our clock means the clocks differ: deadlines are corrected. */
const CLOCK_SKEW_THRESHOLD_MILLIS = 2_000;

/** One registration: what the gateway said, and what this worker holds under that id. */
class Session {
  readonly workerId: string;
  readonly heartbeatMillis: number;
  readonly maxWaitSecs: number;
  /** Every attempt claimed under this id whose outcome is not yet known. */
  readonly held = new Map<string, AttemptRun>();
  /** Aborted to stop claiming: by the worker stopping or draining, or the registration gone. */
  readonly claims = new AbortController();
  /** Aborted to stop heartbeating: just before the leave, or when the registration is gone. */
  readonly heartbeats = new AbortController();
  /**
   * Aborted when the worker gives up writing outcomes (at the end of a stop). Not when the
   * registration is gone: outcomes already decided are still written, fenced by their attempt.
   */
  readonly writes = new AbortController();
  readonly completions: CompletionBatcher;
  gone = false;

  constructor(registration: Registration, client: GatewayClient, requestTimeoutMillis: number, logger: Logger) {
    this.workerId = registration.worker_id;
    this.heartbeatMillis = Math.max(1, registration.heartbeat_secs) * 1000;
    // The protocol's longest wait when the answer does not say (an older gateway).
    this.maxWaitSecs = Number.isInteger(registration.max_wait_secs) ? Math.max(0, registration.max_wait_secs) : 25;
    this.completions = new CompletionBatcher(client, this.workerId, this.writes.signal, requestTimeoutMillis, logger);
  }

  get path(): string {
    return `/v1/workers/${encodeURIComponent(this.workerId)}`;
  }
}

/**
 * A Spool worker in this process: register the handlers, then `run()`. It registers with the
 * gateway, heartbeats on its own timer, long-polls for jobs of its types (never more than it has
 * free slots), runs each job's handler concurrently, and writes the outcomes (completions in group
 * commits). See the README for what happens on cancel, timeout, lost attempts and stop.
 */
export class Worker {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly client: GatewayClient;
  private readonly logger: Logger;
  private readonly url: string;
  private readonly queues: string[];
  private readonly concurrency: number;
  private readonly name: string | undefined;
  private readonly shutdownGraceMillis: number;
  private readonly installSignals: boolean;
  private readonly requestTimeoutMillis: number;
  private readonly onOutcome: ((outcome: AttemptOutcome) => void) | undefined;

  private runPromise: Promise<void> | null = null;
  private stopRequested = false;
  private draining = false;
  /** Aborted by stop() or a drain: claim nothing more. */
  private readonly stopClaiming = new AbortController();
  /** Aborted once running handlers may no longer finish (the grace period is over). */
  private readonly graceOver = new AbortController();
  private graceDeadline = Infinity;
  private graceTimer: NodeJS.Timeout | undefined;
  /** Attempts whose handler holds a slot. */
  private readonly active = new Set<AttemptRun>();
  /** The current registration. */
  private session: Session | null = null;
  /** Every registration that still holds attempts (the current one, and gone ones writing outcomes). */
  private readonly sessions = new Set<Session>();
  private readonly changeWaiters = new Set<() => void>();
  private resolveReady!: (workerId: string) => void;
  private rejectReady!: (error: unknown) => void;

  /** Resolves with the worker id once the worker is first registered; rejects if `run()` fails before. */
  readonly ready: Promise<string>;

  constructor(options: WorkerOptions) {
    if (!options || typeof options.url !== "string" || options.url === "") {
      throw new TypeError("Worker: `url` (the gateway's base URL) is required");
    }
    new URL(options.url); // throws a TypeError naming a malformed URL
    if (typeof options.key !== "string" || options.key === "") {
      throw new TypeError("Worker: `key` (a worker key from the gateway's SPOOL_WORKER_KEYS) is required");
    }
    this.url = options.url;
    this.queues = options.queues ?? ["default"];
    if (!Array.isArray(this.queues) || this.queues.length === 0 || !this.queues.every((q) => JOB_TYPE_PATTERN.test(q))) {
      throw new TypeError(`Worker: \`queues\` must be a non-empty list of queue names, not ${JSON.stringify(options.queues)}`);
    }
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > MAX_CONCURRENCY) {
      throw new TypeError(`Worker: \`concurrency\` must be an integer from 1 to ${MAX_CONCURRENCY}, not ${options.concurrency}`);
    }
    if (options.name !== undefined && !WORKER_NAME_PATTERN.test(options.name)) {
      throw new TypeError(`Worker: \`name\` must be 1 to 64 letters, digits, ".", "_" or "-", not ${JSON.stringify(options.name)}`);
    }
    this.name = options.name;
    const graceSecs = options.shutdownGraceSecs ?? DEFAULT_SHUTDOWN_GRACE_SECS;
    if (!(graceSecs >= 0)) {
      throw new TypeError(`Worker: \`shutdownGraceSecs\` must be 0 or more, not ${options.shutdownGraceSecs}`);
    }
    this.shutdownGraceMillis = graceSecs * 1000;
    const timeoutSecs = options.requestTimeoutSecs ?? DEFAULT_REQUEST_TIMEOUT_SECS;
    if (!(timeoutSecs > 0)) {
      throw new TypeError(`Worker: \`requestTimeoutSecs\` must be above 0, not ${options.requestTimeoutSecs}`);
    }
    this.requestTimeoutMillis = timeoutSecs * 1000;
    this.installSignals = options.installSignalHandlers ?? true;
    this.logger = options.logger ?? consoleLogger;
    this.onOutcome = options.onOutcome;
    this.client = new GatewayClient(options.url, options.key, this.logger, options.onRequest);
    this.ready = new Promise<string>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {}); // nobody needs to be waiting on it
  }

  /**
   * Serves jobs of `type` with `handler`. Call it for each type before `run()`; the types are
   * sent when the worker registers.
   */
  handle<TRequest = any, TCheckpoint = any>(type: string, handler: JobHandler<TRequest, TCheckpoint>): this {
    if (this.runPromise !== null) {
      throw new Error("Worker.handle: register every handler before run()");
    }
    if (typeof type !== "string" || !JOB_TYPE_PATTERN.test(type)) {
      throw new TypeError(`Worker.handle: ${JSON.stringify(type)} is not a job type name (a letter or digit, then up to 63 of letters, digits, ".", "_", "-")`);
    }
    if (typeof handler !== "function") {
      throw new TypeError(`Worker.handle: the handler of "${type}" must be a function`);
    }
    if (this.handlers.has(type)) {
      throw new Error(`Worker.handle: "${type}" already has a handler`);
    }
    if (this.handlers.size >= MAX_TYPES) {
      throw new Error(`Worker.handle: a worker serves at most ${MAX_TYPES} job types`);
    }
    this.handlers.set(type, handler as JobHandler);
    return this;
  }

  /** The id the gateway gave this worker, while it is registered. */
  get workerId(): string | null {
    return this.session?.workerId ?? null;
  }

  /**
   * Runs the worker until it has stopped gracefully (after `stop()`, a signal, or an operator's
   * drain), then resolves. Rejects if the gateway refuses the registration (a wrong key, say).
   * A worker runs once.
   */
  run(): Promise<void> {
    if (this.runPromise !== null) {
      return Promise.reject(new Error("Worker.run: this worker has already run; make a new Worker"));
    }
    if (this.handlers.size === 0) {
      return Promise.reject(new Error("Worker.run: no handlers; call handle(type, fn) first"));
    }
    this.runPromise = this.runUntilStopped();
    this.runPromise.catch((e) => this.rejectReady(e));
    return this.runPromise;
  }

  /**
   * Asks the worker to stop: it claims nothing more at once, lets running handlers finish for up
   * to `shutdownGraceSecs` (or `graceSecs` given here, which may shorten it: 0 ends it now), then
   * aborts the rest, writes the outcomes it has, and leaves, handing back what it still holds.
   * Resolves when `run()` has finished.
   */
  stop(options: { graceSecs?: number } = {}): Promise<void> {
    const graceMillis = options.graceSecs === undefined ? this.shutdownGraceMillis : Math.max(0, options.graceSecs * 1000);
    if (!this.stopRequested) {
      this.stopRequested = true;
      if (this.runPromise !== null) {
        this.logger.info(`stopping: claiming nothing more; running jobs have ${graceMillis / 1000} s to finish`);
      }
      this.stopClaiming.abort(new Error("the worker is stopping"));
    }
    const deadline = Date.now() + graceMillis;
    if (deadline < this.graceDeadline) {
      this.graceDeadline = deadline;
      clearTimeout(this.graceTimer);
      this.graceTimer = setTimeout(() => this.graceOver.abort(), graceMillis);
      this.graceTimer.unref(); // a stop before run() must not keep the process alive
    }
    return this.runPromise === null ? Promise.resolve() : this.runPromise.catch(() => {});
  }

  private async runUntilStopped(): Promise<void> {
    const uninstall = this.installSignals ? this.installSignalHandlers() : () => {};
    try {
      while (!this.stopClaiming.signal.aborted) {
        const session = await this.register();
        if (session === null) {
          break;
        }
        const heartbeats = this.heartbeatLoop(session);
        await this.claimLoop(session);
        if (!session.gone) {
          await this.leave(session);
        }
        await heartbeats;
        this.session = null;
        this.forgetIfDone(session);
      }
      await this.flushOutcomes(); // a registration gone while stopping may still be writing some
    } finally {
      uninstall();
      clearTimeout(this.graceTimer);
      // Whatever happened, nothing goes on in the background once run() has settled.
      this.active.forEach((run) => run.handBack());
      this.sessions.forEach((s) => {
        s.held.forEach((run) => run.abandon());
        s.claims.abort(new Error("the worker has stopped"));
        s.heartbeats.abort(new Error("the worker has stopped"));
        s.writes.abort(new Error("the worker has stopped"));
      });
    }
  }

  // ---- registration ----

  private async register(): Promise<Session | null> {
    const body = JSON.stringify({
      queues: this.queues,
      types: [...this.handlers.keys()],
      concurrency: this.concurrency,
      ...(this.name === undefined ? {} : { name: this.name }),
    });
    let answer: Answer;
    try {
      answer = await this.client.call({
        route: "register",
        method: "POST",
        path: "/v1/workers",
        body,
        timeoutMillis: this.requestTimeoutMillis,
        retryForMillis: Infinity,
        signal: this.stopClaiming.signal,
      });
    } catch (e) {
      if (this.stopClaiming.signal.aborted) {
        return null;
      }
      if (e instanceof SpoolHttpError && e.status === 401) {
        throw new SpoolHttpError(
          `the gateway at ${this.url} refused the worker key (401): use a key from its SPOOL_WORKER_KEYS, not a user key`,
          e.status,
          e.slug,
          e.detail,
          { cause: e },
        );
      }
      throw e;
    }
    const registration = answer.body as Registration;
    if (typeof registration?.worker_id !== "string" || !(registration.heartbeat_secs > 0)) {
      throw new Error(`POST /v1/workers answered ${answer.status} without a worker_id and heartbeat_secs: ${JSON.stringify(answer.body)}`);
    }
    const session = new Session(registration, this.client, this.requestTimeoutMillis, this.logger);
    // Stopping or draining ends this registration's claims too.
    const onStopClaiming = () => session.claims.abort(this.stopClaiming.signal.reason);
    this.stopClaiming.signal.addEventListener("abort", onStopClaiming, { once: true });
    session.claims.signal.addEventListener("abort", () => this.stopClaiming.signal.removeEventListener("abort", onStopClaiming), {
      once: true,
    });
    this.sessions.add(session);
    this.session = session;
    this.logger.info(
      `registered as ${session.workerId}: types ${[...this.handlers.keys()].join(", ")}; queues ${this.queues.join(", ")}; concurrency ${this.concurrency}`,
    );
    this.resolveReady(session.workerId);
    return session;
  }

  /** The gateway said the worker is gone (declared dead, or removed): what it held went to others. */
  private sessionGone(session: Session): void {
    if (session.gone) {
      return;
    }
    session.gone = true;
    const running = [...session.held.values()].filter((run) => !run.outcomeDecided);
    this.logger.warn(
      `the gateway says worker ${session.workerId} is gone (declared dead, or removed): its ${running.length} running jobs went to others; registering again`,
    );
    session.claims.abort(new Error("the worker is gone"));
    session.heartbeats.abort(new Error("the worker is gone"));
    // Outcomes already decided are still sent: each write is fenced by its attempt, which may
    // still be current (a job claimed just as the worker went), and the gateway says which.
    for (const run of running) {
      run.lose("the worker was declared gone");
    }
    this.forgetIfDone(session);
  }

  /** A registration that is over and holds nothing more is forgotten. */
  private forgetIfDone(session: Session): void {
    if (session !== this.session && session.held.size === 0) {
      this.sessions.delete(session);
    }
  }

  // ---- heartbeats ----

  private async heartbeatLoop(session: Session): Promise<void> {
    const signal = session.heartbeats.signal;
    let due = Date.now() + session.heartbeatMillis;
    while (!signal.aborted) {
      await pause(due - Date.now(), signal);
      if (signal.aborted) {
        break;
      }
      due = Date.now() + session.heartbeatMillis;
      const running = [...session.held.values()].map((run) => ({ job_id: run.job.id, attempt: run.job.attempt }));
      try {
        const answer = await this.client.call({
          route: "heartbeat",
          method: "POST",
          path: `${session.path}/heartbeat`,
          body: JSON.stringify({ running }),
          timeoutMillis: Math.max(2_000, session.heartbeatMillis),
          retryForMillis: session.heartbeatMillis,
          signal,
        });
        this.heard(session, (answer.body ?? {}) as HeartbeatAnswer);
      } catch (e) {
        if (signal.aborted) {
          break;
        }
        if (isWorkerGone(e)) {
          this.sessionGone(session);
          break;
        }
        this.logger.warn(`heartbeat failed: ${describe(e)}`);
      }
    }
  }

  private heard(session: Session, answer: HeartbeatAnswer): void {
    for (const jobId of answer.cancel ?? []) {
      for (const run of attemptsOf(session, jobId)) {
        this.logger.debug(`job ${jobId}: cancel asked`);
        run.cancel();
      }
    }
    for (const entry of answer.lost ?? []) {
      const jobId = typeof entry === "string" ? entry : entry?.job_id;
      const attempt = typeof entry === "string" ? undefined : entry?.attempt;
      for (const run of attemptsOf(session, jobId)) {
        if (attempt === undefined || run.job.attempt === attempt) {
          run.lose("the heartbeat says it is no longer this worker's");
        }
      }
    }
    if (answer.state === "drain") {
      this.drain();
    }
  }

  private drain(): void {
    if (this.draining || this.stopClaiming.signal.aborted) {
      return;
    }
    this.draining = true;
    this.logger.info("an operator asked this worker to drain: claiming nothing more; leaving once the running jobs are done");
    this.stopClaiming.abort(new Error("the worker is draining"));
  }

  // ---- claims ----

  private async claimLoop(session: Session): Promise<void> {
    const signal = session.claims.signal;
    const waitSecs = session.maxWaitSecs;
    while (!signal.aborted) {
      const free = this.concurrency - this.active.size;
      if (free <= 0) {
        await this.until(() => this.active.size < this.concurrency, signal);
        continue;
      }
      const askedAt = Date.now();
      let answer: Answer;
      try {
        answer = await this.client.call({
          route: "claim",
          method: "POST",
          path: `${session.path}/claim`,
          body: `{"max":${Math.min(free, MAX_ITEMS_PER_REQUEST)},"wait_secs":${waitSecs}}`,
          timeoutMillis: waitSecs * 1000 + CLAIM_TIMEOUT_MARGIN_MILLIS,
          retryForMillis: Infinity,
          signal,
        });
      } catch (e) {
        if (signal.aborted) {
          break;
        }
        if (isWorkerGone(e)) {
          this.sessionGone(session);
          break;
        }
        this.logger.error(`claim failed: ${describe(e)}; trying again in ${CLAIM_ERROR_PAUSE_MILLIS / 1000} s`);
        await pause(CLAIM_ERROR_PAUSE_MILLIS, signal);
        continue;
      }
      const jobs: ClaimedJob[] = Array.isArray(answer.body?.jobs) ? answer.body.jobs : [];
      if (signal.aborted) {
        // Stopping: the leave hands these back (or they went to others with a gone worker).
        this.logger.debug(`${jobs.length} jobs claimed as the worker stopped claiming: handed back by the leave`);
        break;
      }
      const skewMillis = clockSkewMillis(answer.headers);
      for (const job of jobs) {
        this.start(session, job, skewMillis);
      }
      if (jobs.length === 0 && waitSecs >= 1 && Date.now() - askedAt < 1000) {
        // An empty answer at once (a draining worker's, say): do not spin.
        await pause(1000, signal);
      }
    }
  }

  private start(session: Session, job: ClaimedJob, clockSkew: number): void {
    const run = new AttemptRun(job, {
      client: this.client,
      logger: this.logger,
      completions: session.completions,
      requestTimeoutMillis: this.requestTimeoutMillis,
      clockSkewMillis: clockSkew,
      onInactive: (r) => {
        this.active.delete(r);
        this.changed();
      },
      onEnded: (r, outcome) => {
        session.held.delete(r.key);
        this.forgetIfDone(session);
        this.logger.debug(`job ${outcome.jobId} attempt ${outcome.attempt}: ${outcome.outcome}${outcome.error ? ` (${outcome.error})` : ""}`);
        if (this.onOutcome) {
          try {
            this.onOutcome(outcome);
          } catch (e) {
            this.logger.error(`onOutcome threw: ${describe(e)}`);
          }
        }
        this.changed();
      },
    });
    session.held.set(run.key, run);
    this.active.add(run);
    const handler =
      this.handlers.get(job.type) ??
      (() => {
        throw new Error(`this worker has no handler for job type "${job.type}"`);
      });
    run.start(handler);
  }

  // ---- stopping ----

  private async leave(session: Session): Promise<void> {
    // Running handlers may finish: for the grace period after stop(), or all the way on a drain.
    await this.until(() => this.active.size === 0 || session.gone, this.graceOver.signal);
    if (session.gone) {
      return;
    }
    const unfinished = [...this.active];
    if (unfinished.length > 0) {
      this.logger.warn(`grace period over: aborting ${unfinished.length} running handlers; their jobs are handed back`);
      unfinished.forEach((run) => run.handBack());
    }
    await this.flushOutcomes(() => session.gone);
    if (session.gone) {
      return;
    }
    session.heartbeats.abort(new Error("the worker is leaving"));
    try {
      await this.client.call({
        route: "leave",
        method: "DELETE",
        path: session.path,
        timeoutMillis: this.requestTimeoutMillis,
        retryForMillis: LEAVE_RETRY_MILLIS,
        answerStatuses: [410],
      });
      this.logger.info(`left: worker ${session.workerId} is removed and what it still held is handed back`);
    } catch (e) {
      this.logger.warn(`could not leave (${describe(e)}): its jobs go back once the gateway finds it silent`);
    }
  }

  /**
   * Waits (a little) for the outcomes still being written — completions gathered, fails retrying,
   * of this registration and of gone ones — then gives up on the rest.
   */
  private async flushOutcomes(stopWaiting: () => boolean = () => false): Promise<void> {
    const flush = new AbortController();
    const flushTimer = setTimeout(() => flush.abort(), FLUSH_MILLIS);
    await this.until(() => this.heldCount() === 0 || stopWaiting(), flush.signal);
    clearTimeout(flushTimer);
    if (stopWaiting()) {
      return;
    }
    const unwritten = [...this.sessions].flatMap((s) => [...s.held.values()]);
    if (unwritten.length > 0) {
      this.logger.warn(`could not write the outcomes of ${unwritten.length} jobs in time: leaving them to be handed back`);
      unwritten.forEach((run) => run.abandon());
    }
    this.sessions.forEach((s) => s.writes.abort(new Error("the worker has stopped")));
  }

  private heldCount(): number {
    let count = 0;
    this.sessions.forEach((s) => (count += s.held.size));
    return count;
  }

  private installSignalHandlers(): () => void {
    let received = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      received++;
      if (received === 1) {
        this.logger.info(`${signal}: stopping gracefully (send it again to hand the running jobs back at once)`);
        void this.stop();
      } else {
        this.logger.info(`${signal} again: handing the running jobs back now`);
        void this.stop({ graceSecs: 0 });
      }
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    return () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    };
  }

  // ---- waiting for changes (slots freed, outcomes known) ----

  private changed(): void {
    const waiters = [...this.changeWaiters];
    this.changeWaiters.clear();
    waiters.forEach((wake) => wake());
  }

  /** Resolves once `condition` holds, or the signal aborts. */
  private async until(condition: () => boolean, signal: AbortSignal): Promise<void> {
    while (!condition() && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.changeWaiters.delete(wake);
          signal.removeEventListener("abort", wake);
          resolve();
        };
        this.changeWaiters.add(wake);
        signal.addEventListener("abort", wake, { once: true });
      });
    }
  }
}

function attemptsOf(session: Session, jobId: string | undefined): AttemptRun[] {
  if (typeof jobId !== "string") {
    return [];
  }
  return [...session.held.values()].filter((run) => run.job.id === jobId);
}

function isWorkerGone(e: unknown): boolean {
  return e instanceof SpoolHttpError && e.status === 410;
}

/**
 * The gateway's clock minus ours, from an answer's `Date` header (whole seconds, so ±1 s): 0 unless
 * the difference is clearly more than that, so `deadline_at` is read on the right clock.
 */
function clockSkewMillis(headers: Headers): number {
  const date = headers.get("date");
  if (date === null) {
    return 0;
  }
  const serverMillis = Date.parse(date);
  if (Number.isNaN(serverMillis)) {
    return 0;
  }
  const skew = serverMillis + 500 - Date.now();
  return Math.abs(skew) < CLOCK_SKEW_THRESHOLD_MILLIS ? 0 : skew;
}
