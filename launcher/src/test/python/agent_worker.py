"""A Python worker for SdkWorkersTest, run as its own process with the SDK in sdk/python.

Serves the job type in SPOOL_TEST_TYPE. A job's request says what the handler does:
  {"steps": N, "sleep_ms": M, "stall_on_attempt": K}
Each step emits an output event, checkpoints {"step": i} and waits M ms; before the first step it
charges once (ctx.once), appending the idempotency key to the file SPOOL_TEST_EFFECTS. On attempt K
it stalls for a minute after the checkpoint of step 1 (so the test can kill the process there). If
cancelled (the SDK cancels its task, or a write finds the attempt gone), it appends the job id to
SPOOL_TEST_CANCELLED before giving up.
"""
import asyncio
import os
import sys

from spool_worker import AttemptLostError, Worker

TYPE = os.environ["SPOOL_TEST_TYPE"]
EFFECTS = os.environ["SPOOL_TEST_EFFECTS"]
CANCELLED = os.environ["SPOOL_TEST_CANCELLED"]

worker = Worker(
    url=os.environ["SPOOL_URL"],
    key=os.environ["SPOOL_WORKER_KEY"],
    concurrency=int(os.environ.get("SPOOL_TEST_CONCURRENCY", "8")),
    name="py-test",
)


def charge(key):
    with open(EFFECTS, "a") as out:
        out.write(key + "\n")
    return {"charged": key}


@worker.handler(TYPE)
async def agent(ctx):
    request = ctx.request or {}
    steps = int(request.get("steps", 1))
    sleep = int(request.get("sleep_ms", 0)) / 1000
    start = (ctx.checkpoint or {}).get("step", 0)
    try:
        receipt = await ctx.once("charge", charge)
        for step in range(start + 1, steps + 1):
            await ctx.emit("output", {"text": f"step {step} "})
            await ctx.save_checkpoint({"step": step})
            if step == 1 and ctx.attempt == request.get("stall_on_attempt"):
                await asyncio.sleep(60)
            await asyncio.sleep(sleep)
    except (asyncio.CancelledError, AttemptLostError):
        with open(CANCELLED, "a") as out:
            out.write(ctx.job_id + "\n")
        raise
    return {"by": "python", "resumed_from": start, "receipt": receipt, "attempt": ctx.attempt}


if __name__ == "__main__":
    print("agent_worker ready", TYPE, file=sys.stderr, flush=True)
    worker.run()
