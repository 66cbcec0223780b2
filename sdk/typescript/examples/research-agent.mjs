// An example agent: serves the job type "research". It streams its "thinking" as `output` events,
// checkpoints after each step and, on a later attempt, goes on from the last checkpoint; it
// records a side effect (a charge) with `once`, so a retried job never charges twice.
//
//   npm ci && npm run build
//   SPOOL_URL=http://127.0.0.1:8080 SPOOL_WORKER_KEY=<worker key> node examples/research-agent.mjs
//
// then submit with a user key and follow the events:
//   curl -XPOST $SPOOL_URL/v1/jobs -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
//        -d '{"type":"research","request":{"topic":"tides"},"max_attempts":3}'
//   curl -N -H "Authorization: Bearer $KEY" $SPOOL_URL/v1/jobs/<id>/events
//
// With RESEARCH_CRASH_AT_STEP=3 the first attempt fails after step 2: the second resumes at step 3.
import { setTimeout as sleep } from "node:timers/promises";
import { NonRetryableError, Worker } from "@spool/worker";

const STEPS = ["read the question", "search the sources", "compare what they say", "write the answer"];
const crashAtStep = Number(process.env.RESEARCH_CRASH_AT_STEP ?? 0);

if (!process.env.SPOOL_WORKER_KEY) {
  console.error("set SPOOL_WORKER_KEY to a worker key of the gateway (and SPOOL_URL to its address)");
  process.exit(2);
}

const worker = new Worker({
  url: process.env.SPOOL_URL ?? "http://127.0.0.1:8080",
  key: process.env.SPOOL_WORKER_KEY,
  queues: ["default"],
  concurrency: 100,
  name: "research-agent",
});

/**
 * @typedef {{ topic: string }} ResearchRequest
 * @typedef {{ done: number, notes: string[] }} ResearchState
 */

worker.handle("research", async (/** @type {import("@spool/worker").JobContext<ResearchRequest, ResearchState>} */ ctx) => {
  const topic = ctx.request?.topic;
  if (typeof topic !== "string" || topic.length === 0) {
    // Retrying cannot fix the request: fail the job at once.
    throw new NonRetryableError('the request needs a "topic" (a string)');
  }
  // A later attempt (after a crash, a timeout or an error) starts after the last saved step.
  const state = ctx.checkpoint ?? { done: 0, notes: [] };
  if (state.done > 0) {
    await ctx.emit("output", { text: `(attempt ${ctx.attempt}: resuming after step ${state.done})\n` });
  }
  for (let step = state.done; step < STEPS.length; step++) {
    if (ctx.attempt === 1 && step + 1 === crashAtStep) {
      throw new Error(`simulated crash before step ${step + 1}`);
    }
    await ctx.emit("progress", { step: step + 1, of: STEPS.length, doing: STEPS[step] });
    for (const word of think(topic, STEPS[step])) {
      await ctx.emit("output", { text: word });
      // Stands for waiting on a model; the signal stops it at once on cancel or timeout.
      await sleep(40, undefined, { signal: ctx.signal });
    }
    state.notes.push(`${STEPS[step]}: done`);
    state.done = step + 1;
    await ctx.saveCheckpoint(state);
  }
  // Once per job, whatever the attempts: the key lets the billing service recognise a repeat
  // (a crash between charging and recording it).
  const receipt = await ctx.once("charge", async (idempotencyKey) => charge(idempotencyKey, 3));
  return { topic, answer: `Everything about ${topic}, in ${STEPS.length} steps.`, notes: state.notes, receipt };
});

/** The words the "model" streams for one step. */
function think(topic, step) {
  return `${step[0].toUpperCase()}${step.slice(1)} about ${topic}… `.split(/(?<= )/);
}

/** Stands for a call to a payment service that deduplicates on the idempotency key. */
async function charge(idempotencyKey, cents) {
  return { receipt: `rcpt-${idempotencyKey}`, cents };
}

await worker.run(); // until SIGTERM / SIGINT: finishes what it runs (30 s at most), then leaves
