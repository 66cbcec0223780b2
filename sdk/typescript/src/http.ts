import { AttemptLostError, SpoolHttpError } from "./errors.js";
import type { Logger } from "./logger.js";
import { backoffMillis, sleep, timeoutSignal } from "./timing.js";

/** Which worker-protocol route a request went to, for counting (see `WorkerOptions.onRequest`). */
export type RouteKind =
  | "register"
  | "heartbeat"
  | "claim"
  | "complete-batch"
  | "leave"
  | "events"
  | "checkpoint"
  | "effect-get"
  | "effect-put"
  | "complete"
  | "fail";

/** One HTTP request the worker made (each retry is one more). */
export interface RequestRecord {
  route: RouteKind;
  method: string;
  /** The answer's status; 0 when none came (network error, timeout, aborted). */
  status: number;
  /** From sending to having read the whole answer. */
  millis: number;
}

export interface Call {
  route: RouteKind;
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** From the gateway's root, e.g. `/v1/workers`. */
  path: string;
  /** The JSON body, already serialised. */
  body?: string;
  /** How long one try may take, answer read included. */
  timeoutMillis: number;
  /** How long to go on retrying after the first try, in total; `Infinity` until `signal` aborts. */
  retryForMillis: number;
  /** Aborting it stops the call at once: it rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Statuses (besides 2xx) that are answers for the caller, not errors, e.g. 404 for an effect. */
  answerStatuses?: readonly number[];
}

export interface Answer {
  status: number;
  /** The parsed JSON body; null when there was none. */
  body: any;
  headers: Headers;
}

const PROBLEM_PREFIX = "urn:spool:problem:";
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
/** The longest wait between two tries, whatever `Retry-After` asks for. */
const MAX_RETRY_AFTER_MILLIS = 60_000;

type Try =
  | { kind: "answer"; answer: Answer }
  | { kind: "retry"; error: Error; retryAfterMillis?: number }
  | { kind: "fail"; error: Error };

/**
 * Speaks HTTP to one gateway: JSON in and out, the worker key, problem answers turned into errors,
 * and retries with backoff and jitter on network errors, timeouts, 429 (after its `Retry-After`)
 * and 502/503/504 — never on another 4xx. Connections are kept alive by undici's default
 * dispatcher, which `fetch` uses.
 */
export class GatewayClient {
  private readonly baseUrl: string;
  private readonly authorization: string;

  constructor(
    url: string,
    key: string,
    private readonly logger: Logger,
    private readonly onRequest?: (record: RequestRecord) => void,
  ) {
    this.baseUrl = url.replace(/\/+$/, "");
    this.authorization = `Bearer ${key}`;
  }

  async call(call: Call): Promise<Answer> {
    const started = Date.now();
    for (let retry = 1; ; retry++) {
      if (call.signal?.aborted) {
        throw call.signal.reason;
      }
      const outcome = await this.tryOnce(call);
      if (outcome.kind === "answer") {
        return outcome.answer;
      }
      if (outcome.kind === "fail") {
        throw outcome.error;
      }
      const wait = Math.min(outcome.retryAfterMillis ?? backoffMillis(retry), MAX_RETRY_AFTER_MILLIS);
      if (Date.now() - started + wait > call.retryForMillis) {
        throw outcome.error;
      }
      // Say it when a call keeps failing (a wrong URL, the gateway down), not at every blip.
      const log = retry === 3 || retry % 20 === 0 ? this.logger.warn : this.logger.debug;
      log.call(this.logger, `${outcome.error.message}; retrying in ${Math.round(wait)} ms (try ${retry + 1})`);
      await sleep(wait, call.signal);
    }
  }

  private async tryOnce(call: Call): Promise<Try> {
    const headers: Record<string, string> = { authorization: this.authorization, accept: "application/json" };
    if (call.body !== undefined) {
      headers["content-type"] = "application/json";
    }
    const timeout = timeoutSignal(call.timeoutMillis, call.signal);
    const sentAt = performance.now();
    let status = 0;
    try {
      const response = await fetch(this.baseUrl + call.path, {
        method: call.method,
        headers,
        body: call.body,
        signal: timeout.signal,
      });
      status = response.status;
      // Always read the body: an unread one would keep its connection from being reused.
      const text = await response.text();
      const body = parseJson(text);
      const answer: Answer = { status, body, headers: response.headers };
      if (response.ok || call.answerStatuses?.includes(status)) {
        if (body === undefined) {
          return { kind: "fail", error: this.httpError(call, status, "", `the answer is not JSON: ${text.slice(0, 200)}`) };
        }
        return { kind: "answer", answer };
      }
      const slug = problemSlug(body);
      const detail = problemDetail(body, text);
      if (status === 409 && slug === "attempt-lost") {
        return { kind: "fail", error: new AttemptLostError(`${call.method} ${call.path}: ${detail || "attempt lost"}`) };
      }
      const error = this.httpError(call, status, slug, detail);
      if (RETRYABLE_STATUSES.has(status)) {
        return { kind: "retry", error, retryAfterMillis: retryAfterMillis(response.headers.get("retry-after")) };
      }
      return { kind: "fail", error };
    } catch (e) {
      if (call.signal?.aborted) {
        return { kind: "fail", error: call.signal.reason };
      }
      const why = timeout.timedOut() ? `no answer within ${call.timeoutMillis} ms` : describeNetworkError(e);
      return { kind: "retry", error: new SpoolHttpError(`${call.method} ${call.path}: ${why}`, 0, "", why, { cause: e }) };
    } finally {
      timeout.dispose();
      try {
        this.onRequest?.({ route: call.route, method: call.method, status, millis: performance.now() - sentAt });
      } catch (e) {
        this.logger.error(`onRequest threw: ${(e as Error)?.message ?? e}`);
      }
    }
  }

  private httpError(call: Call, status: number, slug: string, detail: string): SpoolHttpError {
    const what = slug ? `${status} ${slug}` : `${status}`;
    return new SpoolHttpError(`${call.method} ${call.path}: ${what}${detail ? `: ${detail}` : ""}`, status, slug, detail);
  }
}

/** The parsed body; null for an empty one; undefined when it is not JSON. */
function parseJson(text: string): unknown {
  if (text.length === 0) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function problemSlug(body: unknown): string {
  const type = (body as { type?: unknown } | null)?.type;
  return typeof type === "string" && type.startsWith(PROBLEM_PREFIX) ? type.slice(PROBLEM_PREFIX.length) : "";
}

function problemDetail(body: unknown, text: string): string {
  const problem = body as { detail?: unknown; title?: unknown } | null | undefined;
  if (typeof problem?.detail === "string") {
    return problem.detail;
  }
  if (typeof problem?.title === "string") {
    return problem.title;
  }
  return text.slice(0, 200);
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now; undefined if absent or bad. */
export function retryAfterMillis(header: string | null): number | undefined {
  if (header === null || header.trim() === "") {
    return undefined;
  }
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number(trimmed) * 1000;
  }
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function describeNetworkError(e: unknown): string {
  // undici puts the useful part (ECONNREFUSED, socket closed) in `cause`.
  const error = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = error.cause?.code ?? error.cause?.message;
  return cause ? `${error.message ?? "fetch failed"} (${cause})` : (error.message ?? String(e));
}
