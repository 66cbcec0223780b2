"""The SDK against a real gateway: each test serves job types of its own and submits jobs of them."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any, Dict, List

from support import UserApi, serving, unique_type, within

from spool_worker import AttemptLostError, JobContext, NonRetryableError


@within()
async def test_a_job_completes_with_the_handlers_result(spool: UserApi, make_worker) -> None:
    kind = unique_type("complete")
    worker = make_worker()
    seen: Dict[str, Any] = {}

    @worker.handler(kind)
    async def double(ctx: JobContext) -> Dict[str, Any]:
        seen.update(job_id=ctx.job_id, type=ctx.type, queue=ctx.queue, user_id=ctx.user_id,
                    attempt=ctx.attempt, max_attempts=ctx.max_attempts, checkpoint=ctx.checkpoint,
                    deadline_at=ctx.deadline_at, cancelled=ctx.cancelled)
        return {"doubled": ctx.request["n"] * 2}

    async with serving(worker):
        job = await spool.submit(kind, {"n": 21}, max_attempts=2)
        done = await spool.finished(job["id"])

    assert done["status"] == "completed"
    assert done["result"] == {"doubled": 42}
    assert done["attempts"] == 1
    assert seen["job_id"] == job["id"] and seen["type"] == kind and seen["queue"] == "default"
    assert seen["user_id"] == job["user_id"]
    assert (seen["attempt"], seen["max_attempts"], seen["checkpoint"], seen["cancelled"]) == (1, 2, None, False)
    assert seen["deadline_at"] > datetime.now(timezone.utc)


@within()
async def test_emitted_events_reach_the_jobs_event_log_before_it_ends(spool: UserApi, make_worker) -> None:
    kind = unique_type("events")
    worker = make_worker()

    @worker.handler(kind)
    async def narrate(ctx: JobContext) -> str:
        for step in range(1, 4):
            await ctx.emit("output", {"text": f"thought {step}. "})
            await ctx.emit("progress", {"step": step, "of": 3})
            await asyncio.sleep(0.05)
        await ctx.save_checkpoint({"step": 3})
        return "done"

    async with serving(worker):
        job = await spool.submit(kind)
        events = await spool.events(job["id"])

    types = [e["type"] for e in events]
    assert [e["data"] for e in events if e["type"] == "progress"] == [{"step": s, "of": 3} for s in (1, 2, 3)]
    assert "".join(e["data"]["text"] for e in events if e["type"] == "output") == "thought 1. thought 2. thought 3. "
    assert [e["data"] for e in events if e["type"] == "checkpoint"][-1:] != []
    assert events[-1]["type"] == "end" and events[-1]["data"]["status"] == "completed"
    completed_at = next(i for i, e in enumerate(events) if e["type"] == "status" and e["data"].get("status") == "completed")
    last_handler_event = max(i for i, t in enumerate(types) if t in ("progress", "output", "checkpoint"))
    assert last_handler_event < completed_at
    assert all(e["attempt"] == 1 for e in events if e["type"] in ("progress", "output"))


@within()
async def test_a_retried_attempt_resumes_from_the_checkpoint_and_runs_its_side_effect_once(
    spool: UserApi, make_worker
) -> None:
    kind = unique_type("resume")
    worker = make_worker()
    charges: List[str] = []
    resumed: List[Any] = []

    async def charge(key: str) -> Dict[str, str]:
        charges.append(key)
        return {"charged_with": key}

    @worker.handler(kind)
    async def flaky(ctx: JobContext) -> Dict[str, Any]:
        receipt = await ctx.once("charge", charge)
        resumed.append(ctx.checkpoint)
        if ctx.checkpoint is None:
            await ctx.save_checkpoint({"step": 1})
            raise RuntimeError("crashed after step 1")
        return {"resumed_from": ctx.checkpoint, "receipt": receipt, "attempt": ctx.attempt}

    async with serving(worker):
        job = await spool.submit(kind, max_attempts=3)
        done = await spool.finished(job["id"])

    key = f"{job['id']}:charge"
    assert done["status"] == "completed", done
    assert done["attempts"] == 2
    assert done["result"] == {"resumed_from": {"step": 1}, "receipt": {"charged_with": key}, "attempt": 2}
    assert resumed == [None, {"step": 1}]
    assert charges == [key]


@within()
async def test_once_with_a_plain_function_answers_the_recorded_result_on_repeats(spool: UserApi, make_worker) -> None:
    kind = unique_type("once")
    worker = make_worker()
    calls: List[str] = []

    def send(key: str) -> Dict[str, int]:
        calls.append(key)
        return {"sent": len(calls)}

    @worker.handler(kind)
    async def twice(ctx: JobContext) -> List[Any]:
        first = await ctx.once("send", send)
        again = await ctx.once("send", send)
        return [first, again, dict(ctx.effects)]

    async with serving(worker):
        job = await spool.submit(kind)
        done = await spool.finished(job["id"])

    assert done["result"] == [{"sent": 1}, {"sent": 1}, {"send": {"sent": 1}}]
    assert calls == [f"{job['id']}:send"]


@within()
async def test_a_non_retryable_error_fails_the_job_at_once(spool: UserApi, make_worker) -> None:
    kind = unique_type("permanent")
    worker = make_worker()
    runs: List[int] = []

    class BadInput(NonRetryableError):
        pass

    @worker.handler(kind)
    async def refuse(ctx: JobContext) -> None:
        runs.append(ctx.attempt)
        raise BadInput("topic is missing")

    async with serving(worker):
        job = await spool.submit(kind, max_attempts=3)
        done = await spool.finished(job["id"])

    assert done["status"] == "failed"
    assert done["attempts"] == 1
    assert done["error"] == "BadInput: topic is missing"
    assert runs == [1]


@within()
async def test_any_other_exception_is_retried_then_dead_lettered_with_its_type_and_message(
    spool: UserApi, make_worker
) -> None:
    kind = unique_type("flaky")
    worker = make_worker()

    @worker.handler(kind)
    async def broken(ctx: JobContext) -> None:
        raise ValueError(f"bad luck on attempt {ctx.attempt}")

    async with serving(worker):
        job = await spool.submit(kind, max_attempts=2)
        done = await spool.finished(job["id"])

    assert done["status"] == "failed"
    assert done["attempts"] == 2
    assert done["error"] == "ValueError: bad luck on attempt 2"


@within()
async def test_a_result_that_is_not_json_fails_the_job_with_a_clear_error(spool: UserApi, make_worker) -> None:
    kind = unique_type("notjson")
    worker = make_worker()

    @worker.handler(kind)
    async def odd(ctx: JobContext) -> Any:
        return {"when": datetime.now()}

    async with serving(worker):
        job = await spool.submit(kind, max_attempts=3)
        done = await spool.finished(job["id"])

    assert done["status"] == "failed"
    assert done["attempts"] == 1
    assert "the handler's result is not JSON-serialisable" in done["error"]
    assert "datetime" in done["error"]


@within()
async def test_cancelling_a_running_job_cancels_its_handler_and_the_job_ends_cancelled(
    spool: UserApi, make_worker
) -> None:
    kind = unique_type("cancel")
    worker = make_worker()
    started = asyncio.Event()
    saw: List[Any] = []

    @worker.handler(kind)
    async def waits(ctx: JobContext) -> str:
        started.set()
        try:
            await asyncio.sleep(60)  # silent: the cancel arrives with the next heartbeat
        except asyncio.CancelledError:
            saw.append(ctx.cancelled)
            raise
        return "never"

    async with serving(worker):
        job = await spool.submit(kind, max_attempts=3)
        await started.wait()
        answer = await spool.cancel(job["id"])
        assert answer.status_code == 202, answer.text
        done = await spool.finished(job["id"])

    assert done["status"] == "cancelled"
    assert done["attempts"] == 1
    assert saw == [True]


@within()
async def test_a_cancel_reaches_a_handler_that_keeps_writing_through_the_answers(spool: UserApi, make_worker) -> None:
    kind = unique_type("cancelwrite")
    worker = make_worker()
    started = asyncio.Event()
    cleaned_up: List[bool] = []

    @worker.handler(kind)
    async def busy(ctx: JobContext) -> None:
        step = 0
        try:
            while True:
                step += 1
                await ctx.save_checkpoint({"step": step})
                started.set()
                await asyncio.sleep(0.05)
        finally:
            cleaned_up.append(ctx.cancelled)

    async with serving(worker):
        job = await spool.submit(kind)
        await started.wait()
        assert (await spool.cancel(job["id"])).status_code == 202
        done = await spool.finished(job["id"])

    assert done["status"] == "cancelled"
    assert cleaned_up == [True]


@within()
async def test_an_attempt_past_its_deadline_is_cancelled_and_failed_as_timed_out(spool: UserApi, make_worker) -> None:
    kind = unique_type("timeout")
    worker = make_worker()
    stopped: List[str] = []

    @worker.handler(kind)
    async def slow(ctx: JobContext) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            stopped.append("cancelled")
            raise

    async with serving(worker):
        job = await spool.submit(kind, timeout_secs=1, max_attempts=1)
        done = await spool.finished(job["id"])

    assert done["status"] == "failed"
    assert done["error"] == "timed out after 1 s"
    assert stopped == ["cancelled"]


@within()
async def test_a_graceful_stop_hands_a_long_running_job_back_for_another_worker(
    spool: UserApi, make_worker
) -> None:
    kind = unique_type("handback")
    first = make_worker(shutdown_grace_secs=0.5)
    second = make_worker()
    started = asyncio.Event()
    interrupted: List[bool] = []

    @first.handler(kind)
    async def long_one(ctx: JobContext) -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            interrupted.append(ctx.cancelled)
            raise
        return "never"

    @second.handler(kind)
    async def quick_one(ctx: JobContext) -> Dict[str, int]:
        return {"attempt": ctx.attempt}

    async with serving(first) as running:
        job = await spool.submit(kind, max_attempts=3)
        await started.wait()
        await running.stopped()
    handed_back = await spool.get(job["id"])
    assert handed_back["status"] == "pending"
    assert interrupted == [False]
    assert first.request_counts["leave"] == 1

    async with serving(second):
        done = await spool.finished(job["id"])
    assert done["status"] == "completed"
    assert done["result"] == {"attempt": 2}


@within()
async def test_a_stop_lets_running_handlers_finish_within_the_grace(spool: UserApi, make_worker) -> None:
    kind = unique_type("grace")
    worker = make_worker(shutdown_grace_secs=10)
    started = asyncio.Event()

    @worker.handler(kind)
    async def short(ctx: JobContext) -> str:
        started.set()
        await asyncio.sleep(0.5)
        return "finished in time"

    async with serving(worker) as running:
        job = await spool.submit(kind)
        await started.wait()
        await running.stopped()
    done = await spool.get(job["id"])
    assert done["status"] == "completed"
    assert done["result"] == "finished in time"


@within()
async def test_stopping_an_idle_worker_aborts_its_long_poll_at_once(make_worker) -> None:
    worker = make_worker()

    @worker.handler(unique_type("idle"))
    async def never(ctx: JobContext) -> None:
        return None

    async with serving(worker) as running:
        while worker.request_counts["claim"] == 0:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the claim is waiting on the gateway now
        # Far less than the claim's 25 s wait: stopping does not wait for the long-poll to end.
        await running.stopped(timeout=5)


@within()
async def test_many_jobs_complete_in_batched_requests(spool: UserApi, make_worker) -> None:
    kind = unique_type("many")
    worker = make_worker(concurrency=50)
    jobs_count = 200

    @worker.handler(kind)
    async def echo(ctx: JobContext) -> Any:
        return ctx.request

    async with serving(worker):
        jobs = await spool.submit_many(kind, [{"i": i} for i in range(jobs_count)])
        while worker.stats.completed < jobs_count:
            await asyncio.sleep(0.05)
    finished = [await spool.get(j["id"]) for j in jobs[:: jobs_count // 10]]

    assert all(j["status"] == "completed" and j["result"] == j["request"] for j in finished)
    assert worker.request_counts["complete"] == 0
    assert worker.request_counts["complete_batch"] < jobs_count
    assert worker.request_counts["claim"] < jobs_count


@within()
async def test_a_worker_the_gateway_forgot_drops_its_jobs_and_registers_again(
    spool: UserApi, make_worker, worker_http
) -> None:
    kind = unique_type("gone")
    worker = make_worker()
    started = asyncio.Event()
    go_on = asyncio.Event()
    first_attempt: List[str] = []

    @worker.handler(kind)
    async def twice(ctx: JobContext) -> Dict[str, int]:
        if ctx.attempt == 1:
            started.set()
            await go_on.wait()
            try:
                await ctx.save_checkpoint({"late": True})
            except AttemptLostError:
                first_attempt.append("lost")
                raise
            except asyncio.CancelledError:
                # Only if the worker's heartbeat learnt of it between the leave and this write.
                first_attempt.append("cancelled")
                raise
            first_attempt.append("written")
        return {"attempt": ctx.attempt}

    async with serving(worker):
        job = await spool.submit(kind, max_attempts=3)
        await started.wait()
        gone = worker.worker_id
        # As if the gateway had declared the worker dead: its job goes back to pending.
        assert (await worker_http.delete(f"/v1/workers/{gone}")).status_code == 204
        go_on.set()
        done = await spool.finished(job["id"])
        while worker.worker_id in (None, gone):  # its next heartbeat or claim answers 410
            await asyncio.sleep(0.05)

    assert first_attempt in (["lost"], ["cancelled"])
    assert done["status"] == "completed"
    assert done["result"] == {"attempt": 2}
    assert done["checkpoint"] is None


@within()
async def test_a_drained_worker_finishes_what_it_holds_then_leaves(spool: UserApi, make_worker, worker_http) -> None:
    kind = unique_type("drain")
    worker = make_worker()
    started = asyncio.Event()
    go_on = asyncio.Event()

    @worker.handler(kind)
    async def held(ctx: JobContext) -> str:
        started.set()
        await go_on.wait()
        return "finished while draining"

    async with serving(worker) as running:
        job = await spool.submit(kind)
        await started.wait()
        answer = await worker_http.post(f"/v1/workers/{worker.worker_id}/drain")
        assert answer.status_code in (200, 202), answer.text
        while not worker.stopping:  # the next heartbeat's answer says drain
            await asyncio.sleep(0.05)
        go_on.set()
        assert running.task is not None
        await asyncio.wait_for(running.task, 15)  # serve() returns by itself once drained

    done = await spool.get(job["id"])
    assert done["status"] == "completed"
    assert done["result"] == "finished while draining"
    assert worker.request_counts["leave"] == 1
