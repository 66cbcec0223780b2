// The TypeScript worker against a real gateway: each test serves its own job types, submits jobs
// of them with the user key, and reads what the gateway recorded.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AttemptCancelledError,
  AttemptLostError,
  AttemptTimeoutError,
  NonRetryableError,
  Worker,
  WorkerStoppingError,
} from "@spool/worker";
import {
  aborted,
  deferred,
  eventually,
  finished,
  gateway,
  getJob,
  readEvents,
  startWorker,
  submit,
  uniqueType,
  userCall,
  within,
} from "./support.mjs";

const LIMIT = { timeout: 30_000 };

test("a job completes with its handler's result, and the context describes the job", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("complete");
  /** @type {any} */
  let seen;
  await startWorker(t, {
    [type]: async (ctx) => {
      seen = {
        jobId: ctx.jobId,
        type: ctx.type,
        queue: ctx.queue,
        attempt: ctx.attempt,
        maxAttempts: ctx.maxAttempts,
        checkpoint: ctx.checkpoint,
        deadlineAt: ctx.deadlineAt,
        cancelled: ctx.cancelled,
        userId: ctx.userId,
      };
      return { echo: ctx.request.question, answer: 42 };
    },
  });

  const job = await submit(type, { question: "why" }, { max_attempts: 2, timeout_secs: 120 });
  const done = await finished(job.id);

  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.deepEqual(done.result, { echo: "why", answer: 42 });
  assert.equal(done.attempts, 1);
  assert.equal(seen.jobId, job.id);
  assert.equal(seen.type, type);
  assert.equal(seen.queue, "default");
  assert.equal(seen.attempt, 1);
  assert.equal(seen.maxAttempts, 2);
  assert.equal(seen.checkpoint, null);
  assert.equal(seen.cancelled, false);
  assert.equal(seen.userId, job.user_id);
  assert.ok(seen.deadlineAt instanceof Date, "deadlineAt is a Date");
  const secsLeft = (seen.deadlineAt.getTime() - Date.now()) / 1000;
  assert.ok(secsLeft > 100 && secsLeft <= 125, `the deadline is about timeout_secs away (${secsLeft} s)`);
});

test("emitted events reach the job's event log, in order and before its end", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("events");
  await startWorker(t, {
    [type]: async (ctx) => {
      await ctx.emit("output", { text: "Thinking " });
      void ctx.emit("output", { text: "about " }); // not awaited: still sent, in order
      await ctx.emit("output", { text: "tides" });
      await ctx.emit("progress", { step: 1, of: 2 });
      ctx.emit("progress", { step: 2, of: 2 });
      return { ok: true };
    },
  });

  const job = await submit(type);
  const events = await readEvents(job.id);

  const types = events.map((e) => e.type);
  assert.equal(types.at(-1), "end", `the stream ends with end: ${types}`);
  assert.equal(events.at(-1)?.event.data.status, "completed");
  const seqs = events.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "seq increases");
  const text = events
    .filter((e) => e.type === "output")
    .map((e) => e.event.data.text)
    .join("");
  assert.equal(text, "Thinking about tides");
  const progress = events.filter((e) => e.type === "progress").map((e) => e.event.data);
  assert.deepEqual(progress, [
    { step: 1, of: 2 },
    { step: 2, of: 2 },
  ]);
  const lastOutput = types.lastIndexOf("output");
  const firstProgress = types.indexOf("progress");
  assert.ok(lastOutput < firstProgress, `outputs come before the progress emitted after them: ${types}`);
  const completedAt = events.findIndex((e) => e.type === "status" && e.event.data.status === "completed");
  assert.ok(completedAt < 0 || completedAt > types.lastIndexOf("progress"), `events come before the final status: ${types}`);
});

test("an attempt that checkpointed then threw is retried from its checkpoint, and its once side effect ran once", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("resume");
  const effectKeys = [];
  const attempts = [];
  await startWorker(t, {
    [type]: async (ctx) => {
      attempts.push({ attempt: ctx.attempt, checkpoint: ctx.checkpoint });
      const charge = await ctx.once("charge", async (idempotencyKey) => {
        effectKeys.push(idempotencyKey);
        return { charged: 7, at: new Date(0) }; // recorded as JSON: the Date becomes a string
      });
      if (ctx.attempt === 1) {
        await ctx.saveCheckpoint({ step: 1 });
        assert.deepEqual(ctx.checkpoint, { step: 1 });
        throw new Error("the model provider fell over");
      }
      return { resumedFrom: ctx.checkpoint, charge };
    },
  });

  const job = await submit(type, {}, { max_attempts: 3 });
  const done = await finished(job.id, 25);

  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.equal(done.attempts, 2);
  assert.deepEqual(done.result, { resumedFrom: { step: 1 }, charge: { charged: 7, at: "1970-01-01T00:00:00.000Z" } });
  assert.deepEqual(done.checkpoint, { step: 1 });
  assert.deepEqual(attempts, [
    { attempt: 1, checkpoint: null },
    { attempt: 2, checkpoint: { step: 1 } },
  ]);
  assert.deepEqual(effectKeys, [`${job.id}:charge`], "the side effect ran once, with the job's idempotency key");
});

test("a NonRetryableError fails the job at once, whatever attempts it has left", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("nonretryable");
  await startWorker(t, {
    [type]: async () => {
      throw new NonRetryableError("the document is not a PDF");
    },
  });

  const job = await submit(type, {}, { max_attempts: 3 });
  const done = await finished(job.id);

  assert.equal(done.status, "failed", JSON.stringify(done));
  assert.equal(done.attempts, 1);
  assert.match(done.error, /NonRetryableError: the document is not a PDF/);
});

test("any other error is retried, and the last attempt's error is the job's", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("retried");
  await startWorker(t, {
    [type]: async (ctx) => {
      throw new RangeError(`attempt ${ctx.attempt} went wrong`);
    },
  });

  const job = await submit(type, {}, { max_attempts: 2 });
  const done = await finished(job.id, 25);

  assert.equal(done.status, "failed", JSON.stringify(done));
  assert.equal(done.attempts, 2);
  assert.equal(done.error, "RangeError: attempt 2 went wrong");
});

test("a result that is not JSON fails the attempt with an error saying so", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("badresult");
  await startWorker(t, {
    [type]: async () => ({ tokens: 12n }),
  });

  const job = await submit(type, {}, { max_attempts: 3 });
  const done = await finished(job.id);

  assert.equal(done.status, "failed", JSON.stringify(done));
  assert.equal(done.attempts, 1);
  assert.match(done.error, /the handler's result is not JSON-serialisable/);
});

test("cancelling a running job aborts its handler's signal and the job ends cancelled", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("cancel");
  const started = deferred();
  const stopped = deferred();
  await startWorker(t, {
    [type]: async (ctx) => {
      started.resolve();
      const reason = await aborted(ctx.signal);
      stopped.resolve({ reason, cancelled: ctx.cancelled });
      // What a handler returns after its signal aborted is ignored.
      return { finished: "anyway" };
    },
  });

  const job = await submit(type);
  await within(10_000, started.promise, "the handler started");
  const cancel = await userCall("POST", `/v1/jobs/${job.id}/cancel`);
  assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
  const { reason, cancelled } = await within(15_000, stopped.promise, "the handler's signal aborted");
  const done = await finished(job.id);

  assert.ok(reason instanceof AttemptCancelledError, `the signal's reason is an AttemptCancelledError: ${reason}`);
  assert.equal(cancelled, true);
  assert.equal(done.status, "cancelled", JSON.stringify(done));
  assert.equal(done.result, null);
});

test("a handler writing while its job is cancelled learns it from the write's answer", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("cancelwrite");
  const started = deferred();
  const stopped = deferred();
  await startWorker(t, {
    [type]: async (ctx) => {
      started.resolve();
      try {
        for (let i = 0; ; i++) {
          await ctx.emit("progress", { step: i });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } catch (e) {
        stopped.resolve({ error: e, cancelled: ctx.cancelled });
        throw e;
      }
    },
  });

  const job = await submit(type);
  await within(10_000, started.promise, "the handler started");
  const cancel = await userCall("POST", `/v1/jobs/${job.id}/cancel`);
  assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
  const { error, cancelled } = await within(10_000, stopped.promise, "an emit threw");
  const done = await finished(job.id);

  assert.ok(error instanceof AttemptCancelledError, `emit threw an AttemptCancelledError: ${error}`);
  assert.equal(cancelled, true);
  assert.equal(done.status, "cancelled", JSON.stringify(done));
});

test("an attempt that runs past its deadline is aborted and retried", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("deadline");
  const reasons = [];
  await startWorker(t, {
    [type]: async (ctx) => {
      if (ctx.attempt === 1) {
        reasons.push(await aborted(ctx.signal));
        return { too: "late" };
      }
      return { attempt: ctx.attempt };
    },
  });

  const job = await submit(type, {}, { max_attempts: 2, timeout_secs: 2 });
  const done = await finished(job.id, 25);

  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.equal(done.attempts, 2);
  assert.deepEqual(done.result, { attempt: 2 });
  assert.equal(reasons.length, 1);
  assert.ok(reasons[0] instanceof AttemptTimeoutError, `the signal's reason is an AttemptTimeoutError: ${reasons[0]}`);
  assert.match(reasons[0].message, /^timed out after 2 s$/);
});

test("a graceful stop lets a short job finish and hands a long-running one back", LIMIT, async (t) => {
  gateway();
  const longType = uniqueType("long");
  const shortType = uniqueType("short");
  const longStarted = deferred();
  const shortStarted = deferred();
  /** @type {Promise<unknown> | undefined} */
  let longAbort;
  const { worker, running } = await startWorker(
    t,
    {
      [longType]: async (ctx) => {
        longAbort = aborted(ctx.signal);
        longStarted.resolve();
        await longAbort;
        return { never: "recorded" };
      },
      [shortType]: async () => {
        shortStarted.resolve();
        await new Promise((resolve) => setTimeout(resolve, 500));
        return { short: "done" };
      },
    },
    { shutdownGraceSecs: 2 },
  );

  const longJob = await submit(longType, {}, { max_attempts: 3 });
  const shortJob = await submit(shortType);
  await within(10_000, Promise.all([longStarted.promise, shortStarted.promise]), "both handlers started");
  const stoppedAt = Date.now();
  await within(20_000, worker.stop(), "the worker stopped");
  await running;

  assert.ok(Date.now() - stoppedAt >= 1_500, "the long handler was given the grace period");
  const reason = await longAbort;
  assert.ok(reason instanceof WorkerStoppingError, `the long handler's signal was aborted for the stop: ${reason}`);
  const short = await getJob(shortJob.id);
  assert.equal(short.status, "completed", JSON.stringify(short));
  assert.deepEqual(short.result, { short: "done" });
  const handedBack = await getJob(longJob.id);
  assert.equal(handedBack.status, "pending", `handed back to pending: ${JSON.stringify(handedBack)}`);
  assert.equal(handedBack.attempts, 1);

  // Another worker of the type gets it at once (no visibility timeout to wait for).
  await startWorker(t, { [longType]: async (ctx) => ({ attempt: ctx.attempt }) });
  const done = await finished(longJob.id);
  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.deepEqual(done.result, { attempt: 2 });
});

test("a worker asked to drain claims nothing more, finishes what it holds, and leaves", LIMIT, async (t) => {
  const { url, workerKey } = gateway();
  const type = uniqueType("drain");
  const started = deferred();
  const { worker, running } = await startWorker(
    t,
    {
      [type]: async () => {
        started.resolve();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        return { drained: "after finishing" };
      },
    },
    { shutdownGraceSecs: 0 }, // a drain is no stop: it waits for the running jobs whatever this says
  );

  const job = await submit(type);
  await within(10_000, started.promise, "the handler started");
  const drain = await fetch(`${url}/v1/workers/${encodeURIComponent(worker.workerId ?? "")}/drain`, {
    method: "POST",
    headers: { authorization: `Bearer ${workerKey}` },
  });
  assert.equal(drain.status, 202);
  await within(15_000, running, "run() resolved after the drain");

  const done = await getJob(job.id);
  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.deepEqual(done.result, { drained: "after finishing" });
  assert.equal(worker.workerId, null, "it left");
});

test("a worker the gateway no longer knows registers again and goes on", LIMIT, async (t) => {
  const { url, workerKey } = gateway();
  const type = uniqueType("again");
  const { worker } = await startWorker(t, { [type]: async () => ({ ok: true }) });
  const first = worker.workerId;
  assert.ok(first);

  // Removing it behind its back, as the reaper does with a worker it found silent.
  const removed = await fetch(`${url}/v1/workers/${encodeURIComponent(first)}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${workerKey}` },
  });
  assert.equal(removed.status, 204);
  // Its next heartbeat (or claim) answers 410 worker-gone: it registers again.
  const until = Date.now() + 15_000;
  while ((worker.workerId === first || worker.workerId === null) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(worker.workerId && worker.workerId !== first, `registered again under a new id (${first} -> ${worker.workerId})`);
  const job = await submit(type);
  const done = await finished(job.id);
  assert.equal(done.status, "completed", JSON.stringify(done));
});

test("a handler whose attempt is lost while it runs gets AttemptLostError, and the job runs again", LIMIT, async (t) => {
  const { url, workerKey } = gateway();
  const type = uniqueType("lost");
  const started = deferred();
  const stopped = deferred();
  const { worker } = await startWorker(t, {
    [type]: async (ctx) => {
      if (ctx.attempt > 1) {
        return { attempt: ctx.attempt };
      }
      started.resolve();
      try {
        for (;;) {
          await ctx.emit("progress", { working: true });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } catch (e) {
        stopped.resolve({ error: e, signalReason: ctx.signal.reason });
        throw e;
      }
    },
  });

  const job = await submit(type, {}, { max_attempts: 3 });
  await within(10_000, started.promise, "the handler started");
  // The worker is removed: its job goes back to pending, so attempt 1 is no longer current.
  const removed = await fetch(`${url}/v1/workers/${encodeURIComponent(worker.workerId ?? "")}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${workerKey}` },
  });
  assert.equal(removed.status, 204);
  const done = await finished(job.id, 20);

  assert.equal(done.status, "completed", JSON.stringify(done));
  assert.equal(done.attempts, 2);
  assert.deepEqual(done.result, { attempt: 2 });
  const { error, signalReason } = await within(5_000, stopped.promise, "the first attempt's handler stopped");
  assert.ok(error instanceof AttemptLostError, `the handler's write threw AttemptLostError: ${error}`);
  assert.ok(signalReason instanceof AttemptLostError, "its signal was aborted with it");
});

test("completions of jobs that end together share requests", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("batch");
  const requests = new Map();
  await startWorker(
    t,
    { [type]: async (ctx) => ({ n: ctx.request.n }) },
    {
      concurrency: 50,
      onRequest: (r) => requests.set(r.route, (requests.get(r.route) ?? 0) + 1),
    },
  );

  const jobs = 50;
  const submitted = await userCall("POST", "/v1/jobs/batch", {
    jobs: Array.from({ length: jobs }, (_, n) => ({ type, request: { n } })),
  });
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  const ids = submitted.body.jobs.map((j) => j.id);
  for (const [n, id] of ids.entries()) {
    const done = await finished(id);
    assert.equal(done.status, "completed", JSON.stringify(done));
    assert.deepEqual(done.result, { n });
  }

  const batches = requests.get("complete-batch") ?? 0;
  assert.ok(batches >= 1 && batches < jobs, `${jobs} completions took ${batches} requests`);
  assert.equal(requests.get("complete") ?? 0, 0, "no completion went one at a time");
  assert.equal(requests.get("fail") ?? 0, 0);
});

test("the worker refuses a user key with a message saying which key it needs", LIMIT, async () => {
  const { url, apiKey } = gateway();
  const worker = new Worker({ url, key: apiKey, installSignalHandlers: false, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  worker.handle(uniqueType("refused"), async () => null);
  await assert.rejects(worker.run(), /refused the worker key \(401\)/);
});

test("an emit with a type other than progress or output throws at once", LIMIT, async (t) => {
  gateway();
  const type = uniqueType("badevent");
  await startWorker(t, {
    [type]: async (ctx) => {
      assert.throws(() => ctx.emit(/** @type {any} */ ("status"), {}), TypeError);
      return { checked: true };
    },
  });
  const job = await submit(type);
  const done = await eventually(job.id, (j) => j.status === "completed" || j.status === "failed");
  assert.equal(done.status, "completed", JSON.stringify(done));
});
