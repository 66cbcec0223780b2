// Throughput of the TypeScript worker: serves one job type whose handler returns at once, and
// prints one JSON line once it has completed N jobs (or has been idle for a while):
//   {"type", "jobs", "seconds", "jobs_per_sec", "requests": {route: n}, "requests_per_job": {route: n, "total": n}}
// `seconds` runs from the first claim answer that had jobs to the last completion written.
// Then it stops gracefully. It uses the built package: `npm run build` first.
//
//   node bench/noop-worker.mjs [type] [jobs]
//
// Settings (argv first, then the environment):
//   SPOOL_URL, SPOOL_WORKER_KEY     the gateway and a worker key (required)
//   type    / SPOOL_BENCH_TYPE      the job type to serve (default "noop")
//   jobs    / SPOOL_BENCH_JOBS      stop after this many completions (default 0: only when idle)
//   SPOOL_BENCH_IDLE_SECS           print and stop after this long without a completion (default 10)
//   SPOOL_BENCH_CONCURRENCY         jobs at once (default 100)
//   SPOOL_BENCH_SUBMIT=1            also submit the `jobs` itself once registered, in batches of
//                                   1000, with the user key SPOOL_API_KEY (not counted as the worker's)
// It says "ready <worker id>" on stderr once registered: submit jobs of the type after that.
import { Worker } from "../dist/index.js";

const url = process.env.SPOOL_URL;
const key = process.env.SPOOL_WORKER_KEY;
if (!url || !key) {
  console.error("set SPOOL_URL and SPOOL_WORKER_KEY (a worker key of the gateway)");
  process.exit(2);
}
const gatewayUrl = url.replace(/\/+$/, "");
const type = process.argv[2] ?? process.env.SPOOL_BENCH_TYPE ?? "noop";
const target = Number(process.argv[3] ?? process.env.SPOOL_BENCH_JOBS ?? 0);
const idleMillis = Number(process.env.SPOOL_BENCH_IDLE_SECS ?? 10) * 1000;
const concurrency = Number(process.env.SPOOL_BENCH_CONCURRENCY ?? 100);
const selfSubmit = process.env.SPOOL_BENCH_SUBMIT === "1";

/** @type {Record<string, number>} */
const requests = {};
let completed = 0;
let failed = 0;
/** @type {number | null} */
let firstJobAt = null;
/** @type {number | null} */
let lastCompletionAt = null;
let lastActivityAt = performance.now();
let reported = false;

const worker = new Worker({
  url: gatewayUrl,
  key,
  concurrency,
  name: "ts-bench",
  logger: {
    debug() {},
    info() {},
    warn: (message) => console.error("[spool-worker]", message),
    error: (message) => console.error("[spool-worker]", message),
  },
  onRequest: (request) => {
    requests[request.route] = (requests[request.route] ?? 0) + 1;
  },
  onOutcome: (outcome) => {
    lastActivityAt = performance.now();
    if (outcome.outcome === "completed") {
      completed++;
      lastCompletionAt = lastActivityAt;
    } else {
      failed++;
    }
    if (target > 0 && completed >= target) {
      report();
    }
  },
});

worker.handle(type, () => {
  // The claim's answer has just been read: its jobs start in the same turn of the event loop.
  firstJobAt ??= performance.now();
  return null;
});

function report() {
  if (reported) {
    return;
  }
  reported = true;
  clearInterval(idleCheck);
  const seconds = firstJobAt === null || lastCompletionAt === null ? 0 : (lastCompletionAt - firstJobAt) / 1000;
  /** @type {Record<string, number>} */
  const perJob = {};
  let total = 0;
  for (const [route, count] of Object.entries(requests)) {
    total += count;
    perJob[route] = round(count / Math.max(1, completed));
  }
  perJob.total = round(total / Math.max(1, completed));
  const line = {
    type,
    jobs: completed,
    failed,
    concurrency,
    seconds: round(seconds),
    jobs_per_sec: seconds > 0 ? round(completed / seconds) : null,
    requests: { ...requests },
    requests_per_job: perJob,
  };
  console.log(JSON.stringify(line));
  void worker.stop();
}

function round(n) {
  return Math.round(n * 1000) / 1000;
}

const idleCheck = setInterval(() => {
  if (performance.now() - lastActivityAt >= idleMillis) {
    report();
  }
}, 250);

const running = worker.run();
const workerId = await worker.ready;
console.error(`ready ${workerId}: serving "${type}"${target > 0 ? `, stopping after ${target} jobs` : ""}`);
lastActivityAt = performance.now();
if (selfSubmit && target > 0) {
  await submitJobs(target);
}
await running;

/** Submits `count` jobs of the type with the user key, 1000 a request. */
async function submitJobs(count) {
  const apiKey = process.env.SPOOL_API_KEY;
  if (!apiKey) {
    console.error("SPOOL_BENCH_SUBMIT=1 needs SPOOL_API_KEY (a user key)");
    await worker.stop({ graceSecs: 0 });
    process.exit(2);
  }
  for (let sent = 0; sent < count; ) {
    const batch = Math.min(1000, count - sent);
    const response = await fetch(`${gatewayUrl}/v1/jobs/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ jobs: Array.from({ length: batch }, () => ({ type, request: {} })) }),
    });
    const text = await response.text();
    if (response.status !== 202) {
      console.error(`POST /v1/jobs/batch answered ${response.status}: ${text.slice(0, 300)}`);
      await worker.stop({ graceSecs: 0 });
      process.exit(1);
    }
    sent += batch;
  }
}
