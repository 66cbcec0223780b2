"""The worker: registers, heartbeats, claims jobs and runs each as an asyncio task."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Counter, Dict, Iterable, List, Mapping, Optional, Tuple

from . import _protocol, _wire
from ._attempt import CANCEL_WAIT_SECS, Attempt, Handler
from ._completions import CompletionBatcher
from ._http import GatewayClient
from ._version import __version__
from .errors import ProblemError, SpoolError, WorkerGoneError

log = logging.getLogger("spool_worker")

# Defaults of the constructor's settings, each with its unit.
DEFAULT_CONCURRENCY = 10
DEFAULT_SHUTDOWN_GRACE_SECS = 30.0
DEFAULT_REQUEST_TIMEOUT_SECS = 30.0
DEFAULT_HTTP_RETRY_SECS = 30.0
# As the Java worker's SPOOL_EVENT_COALESCE_MILLIS: a job's events are written at most once per this.
DEFAULT_EVENT_COALESCE_MILLIS = 40
# A claim's HTTP timeout is its wait plus this, so a long-poll is never cut off by the client.
CLAIM_TIMEOUT_MARGIN_SECS = 10.0
# After a claim refused for another reason than 401/410 (a bug: the detail says which), wait this.
CLAIM_ERROR_PAUSE_SECS = 5.0
# On stopping, after the grace and the handlers' cancellation: how long outcomes may still take.
FINAL_FLUSH_SECS = 10.0
# How long leaving (DELETE) is retried on connection errors and 5xx.
LEAVE_RETRY_SECS = 5.0
# The gateway's answer to register says how often to heartbeat; until then, and if it does not:
FALLBACK_HEARTBEAT_SECS = 5.0


@dataclass
class WorkerStats:
    """What this worker has done since it started serving; read it, never write it."""

    # Jobs claimed (attempts started).
    claimed: int = 0
    # Attempts whose completion the gateway recorded.
    completed: int = 0
    # Attempts failed (retried, dead-lettered or cancelled: the job's status says which).
    failed: int = 0
    # HTTP requests sent, retries included, per kind of route: register, heartbeat, claim,
    # complete_batch, complete, fail, events, checkpoint, effect_get, effect_put, leave.
    requests: Counter[str] = field(default_factory=Counter)
    # time.monotonic() of the first claim answer that carried jobs, and of the last outcome written.
    first_job_claimed_at: Optional[float] = None
    last_outcome_at: Optional[float] = None


class Worker:
    """Runs handlers for job types of a Spool gateway over the worker protocol.

    ``url`` and ``key`` default to the environment's ``SPOOL_URL`` and ``SPOOL_WORKER_KEY``.
    ``queues``: the queues it takes jobs from. ``concurrency``: jobs it runs at once (1-10,000).
    ``name``: the worker's name in the registry (letters, digits, ``._-``; default the key's name).
    ``shutdown_grace_secs``: on stopping, how long running handlers may finish before they are
    cancelled and their jobs handed back. ``claim_wait_secs``: how long one claim long-polls
    (0-25, and at most what the gateway allows). ``request_timeout_secs``: the timeout of every other
    HTTP request. ``http_retry_secs``: how long a handler's writes (events, checkpoints, effects)
    retry connection errors, timeouts, 429 and 502-504 before raising; outcomes (complete, fail)
    retry for as long as it takes, since giving up would strand the job. ``event_coalesce_millis``:
    a job's events are written at most once per this window, the first at once and everything
    emitted meanwhile in the next write (0: each write as soon as the last one is done).
    """

    def __init__(
        self,
        url: Optional[str] = None,
        key: Optional[str] = None,
        queues: Iterable[str] = ("default",),
        concurrency: int = DEFAULT_CONCURRENCY,
        name: Optional[str] = None,
        *,
        shutdown_grace_secs: float = DEFAULT_SHUTDOWN_GRACE_SECS,
        claim_wait_secs: int = _protocol.MAX_WAIT_SECS,
        request_timeout_secs: float = DEFAULT_REQUEST_TIMEOUT_SECS,
        http_retry_secs: float = DEFAULT_HTTP_RETRY_SECS,
        event_coalesce_millis: int = DEFAULT_EVENT_COALESCE_MILLIS,
    ) -> None:
        url = url or os.environ.get("SPOOL_URL")
        key = key or os.environ.get("SPOOL_WORKER_KEY")
        if not url:
            raise ValueError("no gateway URL: pass url= or set SPOOL_URL (e.g. http://127.0.0.1:8080)")
        if not key:
            raise ValueError("no worker key: pass key= or set SPOOL_WORKER_KEY (one of the gateway's SPOOL_WORKER_KEYS)")
        self.url = url.rstrip("/")
        self._key = key
        self.queues: List[str] = list(queues)
        if not self.queues or not all(_protocol.NAME_PATTERN.match(q) for q in self.queues):
            raise ValueError(f"queues must be 1-64 of letters, digits, '.', '_', '-': {self.queues!r}")
        if not 1 <= concurrency <= _protocol.MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be 1-{_protocol.MAX_CONCURRENCY}, not {concurrency}")
        self.concurrency = concurrency
        if name is not None and not _protocol.NAME_PATTERN.match(name):
            raise ValueError(f"name must be 1-64 of letters, digits, '.', '_', '-': {name!r}")
        self.name = name
        if shutdown_grace_secs < 0:
            raise ValueError("shutdown_grace_secs must be >= 0")
        self.shutdown_grace_secs = float(shutdown_grace_secs)
        if not 0 <= claim_wait_secs <= _protocol.MAX_WAIT_SECS:
            raise ValueError(f"claim_wait_secs must be 0-{_protocol.MAX_WAIT_SECS}")
        self.claim_wait_secs = int(claim_wait_secs)
        if request_timeout_secs <= 0 or http_retry_secs < 0:
            raise ValueError("request_timeout_secs must be > 0 and http_retry_secs >= 0")
        self.request_timeout_secs = float(request_timeout_secs)
        self.http_retry_secs = float(http_retry_secs)
        if event_coalesce_millis < 0:
            raise ValueError("event_coalesce_millis must be >= 0")
        self.event_coalesce_secs = event_coalesce_millis / 1000.0
        self._handlers: Dict[str, Handler] = {}
        self.stats = WorkerStats()
        self._serving = False
        self._stop_before_serving = False
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        # Set anew by each serve(); here so that the properties and an early signal find them.
        self._stopping = False
        self._attempts: Dict[Tuple[str, int], Attempt] = {}
        self._worker_id: Optional[str] = None

    # --- handlers ------------------------------------------------------------------------------

    def handler(self, type: str) -> Callable[[Handler], Handler]:
        """Decorator: ``@worker.handler("research")`` on ``async def research(ctx): ...``."""

        def register(fn: Handler) -> Handler:
            self.add_handler(type, fn)
            return fn

        return register

    def add_handler(self, type: str, fn: Handler) -> None:
        if not _protocol.NAME_PATTERN.match(type):
            raise ValueError(f"a job type is 1-64 of letters, digits, '.', '_', '-': {type!r}")
        if type in self._handlers:
            raise ValueError(f"job type {type!r} already has a handler")
        if len(self._handlers) >= _protocol.MAX_TYPES:
            raise ValueError(f"a worker serves at most {_protocol.MAX_TYPES} job types")
        self._handlers[type] = fn

    @property
    def types(self) -> List[str]:
        return sorted(self._handlers)

    # --- state ---------------------------------------------------------------------------------

    @property
    def worker_id(self) -> Optional[str]:
        """The id the gateway gave at registration; None before it and after leaving."""
        return self._worker_id if self._serving else None

    @property
    def running(self) -> int:
        """Attempts this worker holds now (their handlers running or their outcomes being written)."""
        return len(self._attempts) if self._serving else 0

    @property
    def stopping(self) -> bool:
        """True once a stop or a drain has begun: nothing more is claimed."""
        return self._serving and self._stopping

    @property
    def request_counts(self) -> Mapping[str, int]:
        return self.stats.requests

    # --- running -------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT (a second one skips the grace), then stop gracefully."""
        asyncio.run(self._serve_until_signal())

    async def _serve_until_signal(self) -> None:
        loop = asyncio.get_running_loop()
        installed: List[signal.Signals] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not on this platform or thread: stop() still works
        try:
            await self.serve()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self._stopping:
            log.warning("%s again: cancelling the running handlers now", sig.name)
            self._request_stop(force=True)
        else:
            log.info("%s: stopping", sig.name)
            self._request_stop()

    def stop(self) -> None:
        """Ask ``serve()`` to stop gracefully; callable from any thread. A second call skips the grace."""
        loop = self._loop
        if loop is None:
            self._stop_before_serving = True  # serve() has not started: it will stop at once
            return
        if not self._serving:
            return
        try:
            same_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            same_loop = False
        force = self._stopping
        if same_loop:
            self._request_stop(force=force)
        else:
            loop.call_soon_threadsafe(self._request_stop, force)

    async def serve(self) -> None:
        """Register, then claim and run jobs until ``stop()`` or a drain; then leave and return.

        Raises SpoolError/ProblemError when the gateway refuses the worker (a wrong key: 401).
        """
        if self._serving:
            raise RuntimeError("this Worker is already serving")
        if not self._handlers:
            raise RuntimeError("no job types: add a handler with @worker.handler(type) first")
        self._reset()
        self._serving = True
        heartbeat: Optional["asyncio.Task[None]"] = None
        claim: Optional["asyncio.Task[None]"] = None
        cancelled = False
        try:
            if self._stop_before_serving:
                self._stop_before_serving = False
                self._request_stop()
            try:
                if await self._until_stopping(self._register()):
                    heartbeat = asyncio.ensure_future(self._heartbeat_loop())
                    claim = asyncio.ensure_future(self._claim_loop())
                    for task in (heartbeat, claim):
                        task.add_done_callback(self._on_loop_ended)
                    await self._stopping_event.wait()
            except asyncio.CancelledError:
                # serve() itself was cancelled (asyncio.run on Ctrl-C): stop without the grace,
                # but still leave, so the jobs go back at once.
                cancelled = True
                self._request_stop(force=True)
            await self._shut_down(heartbeat, claim)
        finally:
            await asyncio.gather(self.api.aclose(), self._claims.aclose(), return_exceptions=True)
            self._serving = False
            self._worker_id = None
        if cancelled:
            raise asyncio.CancelledError()
        if self._fatal is not None:
            raise self._fatal

    def _reset(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.stats = WorkerStats()
        # Handlers' writes, heartbeats and outcomes share one pool; its requests are never cancelled.
        self.api = self._gateway_client(max_connections=min(self.concurrency, 256) + 8)
        # The claim's long-poll has a client of its own: stopping cancels it mid-flight.
        self._claims = self._gateway_client(max_connections=1)
        self.completions = CompletionBatcher(self)
        self._attempts = {}
        self._worker_id = None
        self._heartbeat_secs = FALLBACK_HEARTBEAT_SECS
        self._max_wait_secs = _protocol.MAX_WAIT_SECS
        self._registered = asyncio.Event()
        self._register_lock = asyncio.Lock()
        self._slot_freed = asyncio.Event()
        self._heartbeat_now = asyncio.Event()
        self._stopping = False
        self._draining = False
        # Loop time by which running handlers are cancelled; None while draining (no limit).
        self._grace_deadline: Optional[float] = None
        self._stopping_event = asyncio.Event()
        self._stop_changed = asyncio.Event()
        self._fatal: Optional[BaseException] = None

    def _gateway_client(self, max_connections: int) -> GatewayClient:
        return GatewayClient(
            self.url,
            self._key,
            max_connections=max_connections,
            request_timeout_secs=self.request_timeout_secs,
            requests=self.stats.requests,
            user_agent=f"spool-worker-python/{__version__}",
        )

    def _request_stop(self, force: bool = False) -> None:
        if not self._serving:
            return
        now = asyncio.get_running_loop().time()
        grace_end = now if force else now + self.shutdown_grace_secs
        if not self._stopping:
            log.info("stopping: no more claims; running handlers get %.0f s to finish", grace_end - now)
            self._stopping = True
            self._grace_deadline = grace_end
            self._stopping_event.set()
        elif self._grace_deadline is None or grace_end < self._grace_deadline:
            self._grace_deadline = grace_end
        self._stop_changed.set()

    def _begin_drain(self) -> None:
        if self._stopping:
            return
        log.info("the gateway asks this worker to drain: no more claims; leaving once running jobs end")
        self._stopping = True
        self._draining = True
        self._grace_deadline = None
        self._stopping_event.set()
        self._stop_changed.set()

    def _on_loop_ended(self, task: "asyncio.Task[None]") -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            if self._fatal is None:
                self._fatal = error
            log.error("worker stopping: %s", error, exc_info=not isinstance(error, SpoolError))
            self._request_stop(force=True)

    async def _until_stopping(self, work: Awaitable[Any]) -> bool:
        """Run ``work`` unless a stop comes first (then it is cancelled); True if it finished."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stopping_event.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        error = task.exception()
        if error is not None:
            self._fatal = error
            return False
        return True

    async def _shut_down(
        self, heartbeat: Optional["asyncio.Task[None]"], claim: Optional["asyncio.Task[None]"]
    ) -> None:
        loop = asyncio.get_running_loop()
        if claim is not None:
            claim.cancel()  # aborts an in-flight long-poll; leaving hands back what it may have claimed
            await asyncio.gather(claim, return_exceptions=True)
        # Running handlers finish, for up to the grace (no limit while draining).
        while self._attempts:
            timeout = None if self._grace_deadline is None else self._grace_deadline - loop.time()
            if timeout is not None and timeout <= 0:
                break
            self._stop_changed.clear()
            changed = asyncio.ensure_future(self._stop_changed.wait())
            await asyncio.wait(self._runners() | {changed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
        if self._attempts:
            log.info("grace over: cancelling %d running handlers; leaving hands their jobs back", len(self._attempts))
            for attempt in list(self._attempts.values()):
                attempt.stop_for_shutdown()
        # Outcomes already due are written (the batcher flushes), for a bounded time.
        runners = self._runners()
        if runners:
            _, late = await asyncio.wait(runners, timeout=CANCEL_WAIT_SECS + FINAL_FLUSH_SECS)
            if late:
                log.warning("%d attempts could not write their outcome in time; leaving hands them back", len(late))
                for runner in late:
                    runner.cancel()
                await asyncio.gather(*late, return_exceptions=True)
        if heartbeat is not None:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
        await self._leave()

    def _runners(self) -> "set[asyncio.Task[None]]":
        return {a.runner for a in self._attempts.values() if a.runner is not None}

    # --- registration --------------------------------------------------------------------------

    async def _register(self) -> None:
        body: Dict[str, Any] = {"queues": self.queues, "types": self.types, "concurrency": self.concurrency}
        if self.name is not None:
            body["name"] = self.name
        # Connection errors and 5xx are retried for as long as it takes (a stop cancels it);
        # a refusal (401: a wrong key; 422) is raised.
        answer = await self.api.call("register", "POST", _protocol.workers(), _wire.encode(body, "registration"),
                                     retry_for_secs=None)
        worker_id = answer.field("worker_id")
        if not isinstance(worker_id, str) or not worker_id:
            raise SpoolError(f"registering answered no worker_id: {answer.body!r}")
        self._heartbeat_secs = _positive(answer.field("heartbeat_secs"), FALLBACK_HEARTBEAT_SECS)
        self._max_wait_secs = int(_positive(answer.field("max_wait_secs"), _protocol.MAX_WAIT_SECS))
        self._worker_id = worker_id
        self._registered.set()
        log.info(
            "registered as %s: types %s, queues %s, concurrency %d, heartbeat every %.0f s",
            worker_id, ", ".join(self.types), ", ".join(self.queues), self.concurrency, self._heartbeat_secs,
        )

    async def _on_worker_gone(self, gone: str) -> None:
        async with self._register_lock:
            if self._worker_id != gone:
                return  # the other loop already registered again
            held = [a for a in self._attempts.values() if a.registration == gone]
            log.warning(
                "the gateway says worker %s is gone (declared dead, or it left): dropping its %d jobs%s",
                gone, len(held), "" if self._stopping else " and registering again",
            )
            self._worker_id = None
            self._registered.clear()
            for attempt in held:
                attempt.mark_lost()
            if not self._stopping:
                await self._register()

    async def _leave(self) -> None:
        worker_id = self._worker_id
        if worker_id is None:
            return
        try:
            await self.api.call("leave", "DELETE", _protocol.worker(worker_id), retry_for_secs=LEAVE_RETRY_SECS)
        except WorkerGoneError:
            pass
        except SpoolError as e:
            log.warning("leaving failed (%s): the gateway hands the jobs back after its visibility timeout", e)
            return
        log.info("left: worker %s is removed", worker_id)
        self._worker_id = None

    # --- heartbeat -----------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self._heartbeat_secs
        while True:
            delay = next_at - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(self._heartbeat_now.wait(), delay)
                except asyncio.TimeoutError:
                    pass
            self._heartbeat_now.clear()
            next_at = loop.time() + self._heartbeat_secs
            worker_id = self._worker_id
            if worker_id is None:
                await self._registered.wait()
                continue
            await self._heartbeat(worker_id)

    async def _heartbeat(self, worker_id: str) -> None:
        held = {a.job_id: a for a in self._attempts.values() if a.registration == worker_id}
        body = _wire.encode({"running": [{"job_id": a.job_id, "attempt": a.number} for a in held.values()]}, "heartbeat")
        try:
            answer = await self.api.call(
                "heartbeat", "POST", _protocol.worker(worker_id) + "/heartbeat", body,
                retry_for_secs=self._heartbeat_secs,
            )
        except WorkerGoneError:
            await self._on_worker_gone(worker_id)
            return
        except ProblemError as e:
            if e.status == 401:
                raise
            log.error("heartbeat refused: %s", e)
            return
        except SpoolError as e:
            log.warning("heartbeat failed: %s", e)
            return
        for job_id in _strings(answer.field("cancel")):
            # Also jobs claimed after the heartbeat was sent.
            for attempt in list(self._attempts.values()):
                if attempt.job_id == job_id and attempt.registration == worker_id:
                    attempt.request_cancel()
        for job_id in _strings(answer.field("lost")):
            lost = held.get(job_id)
            if lost is not None:
                lost.mark_lost()
        if answer.field("state") == "drain":
            self._begin_drain()

    # --- claims --------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        loop = asyncio.get_running_loop()
        quick_empty = 0
        while not self._stopping:
            free = self.concurrency - len(self._attempts)
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                await asyncio.sleep(0)  # let the other attempts that ended with it free their slots too
                continue
            worker_id = self._worker_id
            if worker_id is None:
                await self._registered.wait()
                continue
            wait_secs = min(self.claim_wait_secs, self._max_wait_secs)
            body = b'{"max":%d,"wait_secs":%d}' % (min(free, _protocol.MAX_CLAIM), wait_secs)
            started = loop.time()
            try:
                answer = await self._claims.call(
                    "claim", "POST", _protocol.worker(worker_id) + "/claim", body,
                    retry_for_secs=None, timeout_secs=wait_secs + CLAIM_TIMEOUT_MARGIN_SECS,
                )
            except WorkerGoneError:
                await self._on_worker_gone(worker_id)
                continue
            except ProblemError as e:
                if e.status == 401:
                    raise
                log.error("claim refused: %s", e)
                await asyncio.sleep(CLAIM_ERROR_PAUSE_SECS)
                continue
            jobs = answer.field("jobs")
            jobs = jobs if isinstance(jobs, list) else []
            if jobs:
                quick_empty = 0
                if self.stats.first_job_claimed_at is None:
                    self.stats.first_job_claimed_at = time.monotonic()
                for job in jobs:
                    self._start_attempt(job, worker_id)
            elif wait_secs > 0 and loop.time() - started < min(1.0, wait_secs / 2):
                # Empty well before the wait ended: a job another worker took first, or this worker
                # is draining. Pause a little, and after two in a row ask the heartbeat now.
                quick_empty += 1
                if quick_empty >= 2:
                    self._heartbeat_now.set()
                await asyncio.sleep(min(1.0, 0.05 * 2**quick_empty))
            else:
                quick_empty = 0

    def _start_attempt(self, job: Any, worker_id: str) -> None:
        try:
            handler = self._handlers.get(str(job.get("type")))
            attempt = Attempt(self, job, worker_id, handler)
        except (AttributeError, KeyError, TypeError, ValueError):
            log.error("the claim answered a job without a usable id and attempt: %r", job)
            return
        key = (attempt.job_id, attempt.number)
        if key in self._attempts:
            log.warning("%s was claimed twice; running it once", attempt)
            return
        self.stats.claimed += 1
        self._attempts[key] = attempt
        attempt.runner = asyncio.ensure_future(attempt.run())
        log.debug("%s: started (%s)", attempt, attempt.type)

    def _attempt_ended(self, attempt: Attempt) -> None:
        if self._attempts.get((attempt.job_id, attempt.number)) is attempt:
            del self._attempts[(attempt.job_id, attempt.number)]
        self._slot_freed.set()


def _positive(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and value > 0 else default


def _strings(value: Any) -> List[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
