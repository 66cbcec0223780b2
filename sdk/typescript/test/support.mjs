// What the tests share: the gateway they run against (a real one), its user routes, and workers
// that stop after each test. Every test makes its own job types, so no two tests see a job of the
// other's, nor does the Java worker beside the gateway.
import { randomBytes } from "node:crypto";
import { Worker } from "@spool/worker";

const HOW_TO =
  "These tests run against a real Spool gateway (with a Java worker beside it for housekeeping). " +
  "Set SPOOL_URL (e.g. http://127.0.0.1:8080), SPOOL_API_KEY (a user key, from the gateway's " +
  "SPOOL_API_KEYS) and SPOOL_WORKER_KEY (a worker key, from its SPOOL_WORKER_KEYS), e.g. " +
  "`bin/spool dev` with both settings, then `npm test`.";

/** @returns {{ url: string, apiKey: string, workerKey: string }} */
export function gateway() {
  const url = process.env.SPOOL_URL;
  const apiKey = process.env.SPOOL_API_KEY;
  const workerKey = process.env.SPOOL_WORKER_KEY;
  const missing = [
    ["SPOOL_URL", url],
    ["SPOOL_API_KEY", apiKey],
    ["SPOOL_WORKER_KEY", workerKey],
  ]
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length > 0 || !url || !apiKey || !workerKey) {
    throw new Error(`missing ${missing.join(", ")}. ${HOW_TO}`);
  }
  return { url: url.replace(/\/+$/, ""), apiKey, workerKey };
}

/** A job type name no other test (or run) uses. */
export function uniqueType(what) {
  return `ts-${what}-${randomBytes(5).toString("hex")}`;
}

/** Calls a user route with the user key; answers `{status, body}` (body parsed when JSON). */
export async function userCall(method, path, body) {
  const { url, apiKey } = gateway();
  const response = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(70_000),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

/** Submits a job; answers it as the gateway accepted it. */
export async function submit(type, request = {}, extra = {}) {
  const answer = await userCall("POST", "/v1/jobs", { type, request, ...extra });
  if (answer.status !== 202) {
    throw new Error(`POST /v1/jobs answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

/** Reads the job now. */
export async function getJob(id) {
  const answer = await userCall("GET", `/v1/jobs/${id}`);
  if (answer.status !== 200) {
    throw new Error(`GET /v1/jobs/${id} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

const FINISHED = new Set(["completed", "failed", "cancelled"]);

/** Long-polls the job until it has finished (or `withinSecs` have passed); answers the job. */
export async function finished(id, withinSecs = 20) {
  const until = Date.now() + withinSecs * 1000;
  for (;;) {
    const left = Math.ceil((until - Date.now()) / 1000);
    const answer = await userCall("GET", `/v1/jobs/${id}?wait_secs=${Math.max(0, Math.min(left, 60))}`);
    if (answer.status !== 200) {
      throw new Error(`GET /v1/jobs/${id} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    if (FINISHED.has(answer.body.status) || Date.now() >= until) {
      return answer.body;
    }
  }
}

/** Polls the job until `predicate(job)` holds; answers the job, or throws after `withinSecs`. */
export async function eventually(id, predicate, withinSecs = 15) {
  const until = Date.now() + withinSecs * 1000;
  for (;;) {
    const job = await getJob(id);
    if (predicate(job)) {
      return job;
    }
    if (Date.now() >= until) {
      throw new Error(`job ${id} did not get there within ${withinSecs} s; it is ${JSON.stringify(job)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Reads the job's Server-Sent Events (`GET /v1/jobs/{id}/events`) up to and including `end`:
 * answers `[{seq, type, event}]`, `event` being the parsed `data` line.
 */
export async function readEvents(id, withinSecs = 20) {
  const { url, apiKey } = gateway();
  const response = await fetch(`${url}/v1/jobs/${id}/events`, {
    headers: { authorization: `Bearer ${apiKey}`, accept: "text/event-stream" },
    signal: AbortSignal.timeout(withinSecs * 1000),
  });
  if (response.status !== 200 || !response.body) {
    throw new Error(`GET /v1/jobs/${id}/events answered ${response.status}: ${await response.text()}`);
  }
  const events = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let blank;
    while ((blank = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, blank);
      buffer = buffer.slice(blank + 2);
      const fields = { id: "", event: "message", data: /** @type {string[]} */ ([]) };
      for (const line of frame.split("\n")) {
        if (line.startsWith(":")) continue; // a keep-alive comment
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (name === "id") fields.id = value;
        else if (name === "event") fields.event = value;
        else if (name === "data") fields.data.push(value);
      }
      if (fields.data.length === 0) continue;
      events.push({ seq: Number(fields.id), type: fields.event, event: JSON.parse(fields.data.join("\n")) });
      if (fields.event === "end") {
        await response.body.cancel().catch(() => {});
        return events;
      }
    }
  }
  throw new Error(`the event stream of job ${id} ended without an end event; got ${JSON.stringify(events)}`);
}

/** A logger for the tests: warnings and errors printed (they explain a failure), debug with SPOOL_TEST_DEBUG. */
export const testLogger = {
  debug: (message, ...details) => {
    if (process.env.SPOOL_TEST_DEBUG) console.error("[spool-worker debug]", message, ...details);
  },
  info: (message, ...details) => {
    if (process.env.SPOOL_TEST_DEBUG) console.error("[spool-worker]", message, ...details);
  },
  warn: (message, ...details) => console.error("[spool-worker warn]", message, ...details),
  error: (message, ...details) => console.error("[spool-worker error]", message, ...details),
};

/**
 * Starts a worker serving `handlers` (type → handler) and waits until it is registered, so its
 * types are known to the gateway and jobs of them can be submitted. Stopped when the test ends.
 *
 * @param {import("node:test").TestContext} t
 * @param {Record<string, import("@spool/worker").JobHandler>} handlers
 * @param {Partial<import("@spool/worker").WorkerOptions>} [options]
 */
export async function startWorker(t, handlers, options = {}) {
  const { url, workerKey } = gateway();
  const worker = new Worker({
    url,
    key: workerKey,
    concurrency: 20,
    name: "ts-sdk-test",
    installSignalHandlers: false,
    shutdownGraceSecs: 2,
    logger: testLogger,
    ...options,
  });
  for (const [type, handler] of Object.entries(handlers)) {
    worker.handle(type, handler);
  }
  const running = worker.run();
  running.catch(() => {}); // a failure shows through `ready` or the test's own checks
  t.after(() => worker.stop({ graceSecs: 0 }));
  await Promise.race([
    worker.ready,
    running.then(() => {
      throw new Error("the worker stopped before it registered");
    }),
  ]);
  return { worker, running };
}

/** A promise with its resolve function outside, for a handler to say how far it got. */
export function deferred() {
  /** @type {(value?: any) => void} */
  let resolve = () => {};
  /** @type {Promise<any>} */
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Rejects if `promise` has not settled within `millis`, naming `what`. */
export function within(millis, promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${millis} ms`)), millis);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves when the signal aborts, with its reason. */
export function aborted(signal) {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
}
