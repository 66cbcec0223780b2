"""An example agent: job type ``research``, ``{"topic": "tides", "steps": 3, "fail_at_step": 2}``.

It "thinks" step by step, streaming ``output`` events as it goes and a ``progress`` event per step,
and checkpoints after each step, so a later attempt (after a crash, a timeout or a failure) goes on
from the last finished step instead of starting over. At the end it "sends" its report once per job
with ``ctx.once``, whatever happens to the attempts. ``fail_at_step`` makes the first attempt fail
at that step, to see the resume happen.

    cd sdk/python
    SPOOL_URL=http://127.0.0.1:8080 SPOOL_WORKER_KEY=... /usr/bin/python3 examples/research_agent.py

then, with a user key:

    curl -XPOST $SPOOL_URL/v1/jobs -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
         -d '{"type": "research", "request": {"topic": "tides", "fail_at_step": 2}}'
    curl -N -H "Authorization: Bearer $KEY" $SPOOL_URL/v1/jobs/<id>/events
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any, Dict, List

# Run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spool_worker import JobContext, NonRetryableError, Worker  # noqa: E402

worker = Worker(
    url=os.environ.get("SPOOL_URL", "http://127.0.0.1:8080"),
    key=os.environ.get("SPOOL_WORKER_KEY"),
    queues=os.environ.get("SPOOL_QUEUES", "default").split(","),
    concurrency=int(os.environ.get("SPOOL_WORKER_CONCURRENCY", "100")),
    name="research-agent",
)

THOUGHTS = [
    "Reading what is known about {topic}",
    "Comparing the sources on {topic}",
    "Checking the numbers behind {topic}",
    "Drafting a summary of {topic}",
]


async def send_report(idempotency_key: str, topic: str, notes: List[str]) -> Dict[str, Any]:
    """Stands in for a call to an outside service (an email, a ticket, a payment)."""
    await asyncio.sleep(0.1)
    # A real service would be given the key (e.g. as an Idempotency-Key header) so that a repeat
    # after a crash between sending and recording is recognised there.
    return {"sent": True, "idempotency_key": idempotency_key, "topic": topic, "lines": len(notes)}


@worker.handler("research")
async def research(ctx: JobContext) -> Dict[str, Any]:
    request = ctx.request or {}
    topic = request.get("topic")
    if not isinstance(topic, str) or not topic:
        raise NonRetryableError('request.topic is required, e.g. {"topic": "tides"}')
    subject: str = topic
    steps = min(int(request.get("steps", 3)), len(THOUGHTS))
    fail_at_step = request.get("fail_at_step")

    saved = ctx.checkpoint or {}
    done = int(saved.get("done", 0))
    notes: List[str] = list(saved.get("notes", []))
    if done:
        await ctx.emit("output", {"text": f"(attempt {ctx.attempt}: resuming after step {done})\n"})

    for step in range(done + 1, steps + 1):
        thought = THOUGHTS[step - 1].format(topic=topic)
        for word in thought.split():
            await ctx.emit("output", {"text": word + " "})
            await asyncio.sleep(0.05)  # the model thinking
        await ctx.emit("output", {"text": "\n"})
        if step == fail_at_step and ctx.attempt == 1:
            raise RuntimeError(f"the model's connection dropped during step {step}")
        notes.append(thought)
        await ctx.emit("progress", {"step": step, "of": steps})
        await ctx.save_checkpoint({"done": step, "notes": notes})

    receipt = await ctx.once("report", lambda key: send_report(key, subject, notes))
    return {"topic": subject, "summary": " / ".join(notes), "report": receipt, "attempts_used": ctx.attempt}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    worker.run()
