import { AttemptLostError, SpoolHttpError } from "./errors.js";
import type { GatewayClient } from "./http.js";
import type { Logger } from "./logger.js";
import { eitherSignal } from "./timing.js";
import { type BatchCompleteItem, MAX_BODY_BYTES, MAX_ITEMS_PER_REQUEST } from "./protocol.js";

/** What came of one completion: the job ended `completed`, or the attempt was no longer current. */
export type CompletionStatus = "completed" | "attempt-lost";

interface PendingCompletion {
  jobId: string;
  attempt: number;
  /** `{"id":…,"attempt":…,"result":…}`, serialised once. */
  item: string;
  resultJson: string;
  /** Aborted once the attempt is known lost: then it is not sent. */
  signal: AbortSignal;
  resolve(status: CompletionStatus): void;
  reject(error: unknown): void;
}

/** Room kept in a request body for `{"jobs":[` `]}` and the commas. */
const BATCH_BODY_BYTES = MAX_BODY_BYTES - 1024;

/**
 * Group commit of completions through `POST /v1/workers/{wid}/complete`: the first completion is
 * sent as soon as nothing is in flight (on the next turn of the event loop, so the jobs that end
 * together go together); those that arrive while a request is in flight are gathered and sent in
 * the next one, up to 1000 a request. A batch the gateway refuses (a 4xx) is sent again one
 * completion at a time on the per-attempt route, so one bad result cannot sink the rest.
 */
export class CompletionBatcher {
  private readonly queue: PendingCompletion[] = [];
  private sending = false;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly client: GatewayClient,
    private readonly workerId: string,
    /** Aborted when the worker gives up writing (it has left): nothing more is sent. */
    private readonly signal: AbortSignal,
    private readonly timeoutMillis: number,
    private readonly logger: Logger,
  ) {}

  /** Queues the completion; resolves with what the gateway said about it. */
  complete(jobId: string, attempt: number, resultJson: string, signal: AbortSignal): Promise<CompletionStatus> {
    return new Promise((resolve, reject) => {
      if (this.signal.aborted) {
        reject(this.signal.reason);
        return;
      }
      const item = `{"id":${JSON.stringify(jobId)},"attempt":${attempt},"result":${resultJson}}`;
      this.queue.push({ jobId, attempt, item, resultJson, signal, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.sending && this.queue.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.sending || this.scheduled) {
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.sendNext();
    });
  }

  private async sendNext(): Promise<void> {
    if (this.sending) {
      return;
    }
    const batch = this.takeBatch();
    if (batch.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((wake) => wake());
      return;
    }
    this.sending = true;
    try {
      await this.send(batch);
    } finally {
      this.sending = false;
    }
    void this.sendNext();
  }

  private takeBatch(): PendingCompletion[] {
    const batch: PendingCompletion[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < MAX_ITEMS_PER_REQUEST) {
      const next = this.queue[0]!;
      if (next.signal.aborted) {
        this.queue.shift();
        next.reject(next.signal.reason);
        continue;
      }
      const size = Buffer.byteLength(next.item) + 1;
      if (batch.length > 0 && bytes + size > BATCH_BODY_BYTES) {
        break;
      }
      this.queue.shift();
      batch.push(next);
      bytes += size;
    }
    return batch;
  }

  private async send(batch: PendingCompletion[]): Promise<void> {
    try {
      const answer = await this.client.call({
        route: "complete-batch",
        method: "POST",
        path: `/v1/workers/${encodeURIComponent(this.workerId)}/complete`,
        body: `{"jobs":[${batch.map((c) => c.item).join(",")}]}`,
        timeoutMillis: this.timeoutMillis,
        retryForMillis: Infinity,
        signal: this.signal,
      });
      const items: BatchCompleteItem[] | undefined = answer.body?.jobs;
      if (!Array.isArray(items) || items.length !== batch.length) {
        this.logger.warn(
          `POST /v1/workers/{wid}/complete answered ${Array.isArray(items) ? items.length : "no"} items for ${batch.length}: completing them one at a time`,
        );
        await this.sendOneByOne(batch);
        return;
      }
      batch.forEach((completion, i) => completion.resolve(items[i]!.status === "completed" ? "completed" : "attempt-lost"));
    } catch (e) {
      if (e instanceof SpoolHttpError && e.status === 410) {
        // The worker is gone, but an attempt may still be current (a job claimed just as it
        // went): the per-attempt route is fenced by the attempt alone, and says which.
        await this.sendOneByOne(batch);
      } else if (e instanceof SpoolHttpError && e.status >= 400 && e.status < 500) {
        this.logger.warn(`a batch of ${batch.length} completions was refused (${e.message}): completing them one at a time`);
        await this.sendOneByOne(batch);
      } else {
        batch.forEach((c) => c.reject(e));
      }
    }
  }

  private async sendOneByOne(batch: PendingCompletion[]): Promise<void> {
    await Promise.all(
      batch.map(async (c) => {
        const either = eitherSignal(this.signal, c.signal);
        try {
          await this.client.call({
            route: "complete",
            method: "POST",
            path: `/v1/jobs/${encodeURIComponent(c.jobId)}/attempts/${c.attempt}/complete`,
            body: `{"result":${c.resultJson}}`,
            timeoutMillis: this.timeoutMillis,
            retryForMillis: Infinity,
            signal: either.signal,
          });
          c.resolve("completed");
        } catch (e) {
          if (e instanceof AttemptLostError) {
            c.resolve("attempt-lost");
          } else {
            c.reject(e);
          }
        } finally {
          either.dispose();
        }
      }),
    );
  }
}
