// A TypeScript-SDK worker for SdkWorkersTest, run as its own Node process with sdk/typescript/dist.
// Serves the job type in SPOOL_TEST_TYPE: each step of {"steps": N, "sleep_ms": M} emits an output
// event and checkpoints {"step": i}; the result says it was Node.
import { Worker } from "../../../../sdk/typescript/dist/index.js";

const worker = new Worker({
  url: process.env.SPOOL_URL,
  key: process.env.SPOOL_WORKER_KEY,
  concurrency: Number(process.env.SPOOL_TEST_CONCURRENCY ?? 8),
  name: "node-test",
});

worker.handle(process.env.SPOOL_TEST_TYPE, async (ctx) => {
  const request = ctx.request ?? {};
  const steps = Number(request.steps ?? 1);
  const start = ctx.checkpoint?.step ?? 0;
  for (let step = start + 1; step <= steps; step++) {
    await ctx.emit("output", { text: `step ${step} ` });
    await ctx.saveCheckpoint({ step });
    await new Promise((resolve) => setTimeout(resolve, Number(request.sleep_ms ?? 0)));
  }
  return { by: "node", resumedFrom: start, attempt: ctx.attempt };
});

console.error("agent-worker ready", process.env.SPOOL_TEST_TYPE);
await worker.run();
