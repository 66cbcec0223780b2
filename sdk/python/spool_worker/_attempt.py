"""One claimed attempt: runs its handler as a task of its own and writes what came of it."""

from __future__ import annotations

import asyncio
import collections
import enum
import inspect
import logging
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Deque, Dict, List, Mapping, Optional, Union

from . import _protocol, _wire
from ._http import Answer
from .context import JobContext
from .errors import AttemptLostError, NonRetryableError, ProblemError, SpoolError

if TYPE_CHECKING:
    from .worker import Worker

log = logging.getLogger("spool_worker")

Handler = Callable[[JobContext], Awaitable[Any]]

# After its task is cancelled, a handler gets this long to end before its outcome is written
# without it (a handler that swallows CancelledError must not hold its job forever).
CANCEL_WAIT_SECS = 10.0


class StopReason(enum.Enum):
    """Why the SDK cancelled a handler's task; decides what is written afterwards."""

    CANCEL = "cancel"  # the job was asked to cancel: fail it, it ends cancelled
    TIMEOUT = "timeout"  # deadline_at passed: fail it with retry
    SHUTDOWN = "shutdown"  # the grace ran out: write nothing, leaving hands it back
    LOST = "lost"  # the attempt no longer holds its job: write nothing


class Attempt:
    """The SDK's side of one attempt: its handler task, its events, its outcome."""

    def __init__(
        self,
        worker: "Worker",
        job: Mapping[str, Any],
        registration: str,
        handler: Optional[Handler],
    ) -> None:
        self.worker = worker
        self.job_id = str(job["id"])
        self.number = int(job["attempt"])
        self.type = str(job.get("type", ""))
        self.queue = str(job.get("queue", "default"))
        self.user_id: Optional[str] = job.get("user_id")
        self.request: Any = job.get("request")
        self.max_attempts = int(job.get("max_attempts") or 1)
        self.checkpoint: Any = job.get("checkpoint")
        effects = job.get("effects")
        # The claim lists every effect recorded by earlier attempts, so once() needs no GET.
        self.effects_known = isinstance(effects, dict)
        self.effects: Dict[str, Any] = dict(effects) if isinstance(effects, dict) else {}
        self.deadline_at = _wire.parse_timestamp(job.get("deadline_at"))
        # The worker id that claimed it: a later registration never writes for it.
        self.registration = registration
        self.claimed_at = time.time()
        self.path = _protocol.attempt(self.job_id, self.number)
        self.handler = handler
        self.cancel_requested = False
        self.lost = False
        # Set once the handler has ended (or was given up on): the context writes nothing more.
        self.finished = False
        self.reason: Optional[StopReason] = None
        self.handler_task: Optional["asyncio.Task[Any]"] = None
        self.runner: Optional["asyncio.Task[None]"] = None
        self._cancel_sent = False
        self._stopped: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
        self._effect_locks: Dict[str, asyncio.Lock] = {}
        self.events = EventWriter(self)
        self.context = JobContext(self)

    def __repr__(self) -> str:
        return f"job {self.job_id} attempt {self.number}"

    # --- what the heartbeat, answers and the deadline tell it -----------------------------------

    def request_cancel(self) -> None:
        """The job was asked to cancel: cancel the handler; it will end ``cancelled``."""
        if not self.cancel_requested:
            log.info("%s: cancel requested", self)
        self.cancel_requested = True
        self._stop(StopReason.CANCEL)

    def mark_lost(self, cancel_handler: bool = True) -> None:
        """The attempt no longer holds its job: stop the handler and write nothing more."""
        if not self.lost:
            log.info("%s: lost; nothing more is written for it", self)
            self.lost = True
            self.reason = StopReason.LOST
        if cancel_handler:
            # Without it (a write of the handler's own answered 409) the handler gets
            # AttemptLostError from that write and ends by itself.
            self._cancel_handler()
            self._signal_stopped()

    def stop_for_shutdown(self) -> None:
        self._stop(StopReason.SHUTDOWN)

    def _on_deadline(self) -> None:
        if self.handler_task is not None and not self.handler_task.done():
            log.info("%s: deadline %s passed", self, self.deadline_at)
        self._stop(StopReason.TIMEOUT)

    def _stop(self, reason: StopReason) -> None:
        if self.handler_task is None or self.handler_task.done():
            return
        if self.lost:
            # Lost by a write of its own and still running (it caught AttemptLostError): stop it now.
            self.mark_lost(cancel_handler=True)
            return
        if self.reason is not None:
            return
        self.reason = reason
        self._cancel_handler()
        self._signal_stopped()

    def _cancel_handler(self) -> None:
        task = self.handler_task
        # One cancel only: a second would interrupt the handler's own clean-up.
        if task is not None and not task.done() and not self._cancel_sent:
            self._cancel_sent = True
            task.cancel()

    def _signal_stopped(self) -> None:
        if not self._stopped.done():
            self._stopped.set_result(None)

    # --- writes --------------------------------------------------------------------------------

    def check_not_lost(self) -> None:
        if self.lost:
            raise AttemptLostError(self.job_id, self.number)

    def check_writable(self) -> None:
        self.check_not_lost()
        if self.finished:
            raise RuntimeError(f"{self} has ended: its context writes nothing more")

    async def write(self, kind: str, method: str, suffix: str, body: Optional[bytes]) -> Answer:
        """A write from the handler. Shielded: a handler cancelled meanwhile does not cut it off."""
        self.check_writable()
        task = asyncio.ensure_future(
            self.send(kind, method, self.path + suffix, body, retry_for_secs=self.worker.http_retry_secs)
        )
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    async def send(
        self, kind: str, method: str, path: str, body: Optional[bytes], *, retry_for_secs: Optional[float]
    ) -> Answer:
        """One attempt-scoped call: 409 makes it lost, ``cancel_requested`` cancels the handler."""
        try:
            answer = await self.worker.api.call(kind, method, path, body, retry_for_secs=retry_for_secs)
        except ProblemError as e:
            if e.status == 409:
                # Raised into the handler, which stops there; nothing more is written.
                self.mark_lost(cancel_handler=False)
                raise AttemptLostError(self.job_id, self.number, e.detail) from None
            raise
        if answer.field("cancel_requested") is True:
            self.request_cancel()
        return answer

    def effect_lock(self, name: str) -> asyncio.Lock:
        lock = self._effect_locks.get(name)
        if lock is None:
            lock = self._effect_locks[name] = asyncio.Lock()
        return lock

    # --- the run -------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if self.handler is None:
                self.finished = True
                await self._fail(f"no handler for job type {self.type!r} in this worker", retry=True)
                return
            if self.lost:
                return
            if self.cancel_requested:
                self.finished = True
                await self._fail("cancelled", retry=False)
                return
            self.handler_task = asyncio.ensure_future(self._invoke())
            # Its exception is looked at below, unless the attempt is lost and nothing is written.
            self.handler_task.add_done_callback(_retrieve)
            deadline = self._arm_deadline()
            try:
                await asyncio.wait({self.handler_task, self._stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not self.handler_task.done():
                    await asyncio.wait({self.handler_task}, timeout=CANCEL_WAIT_SECS)
                    if not self.handler_task.done():
                        log.warning(
                            "%s: the handler ignored its cancellation for %.0f s; going on without it",
                            self,
                            CANCEL_WAIT_SECS,
                        )
            finally:
                if deadline is not None:
                    deadline.cancel()
                self.finished = True
            await self._write_outcome()
        except asyncio.CancelledError:
            # The final flush of a stopping worker gave up on this attempt.
            if self.handler_task is not None:
                self._cancel_handler()
            raise
        except Exception:
            log.exception("%s: writing its outcome failed", self)
        finally:
            self.worker._attempt_ended(self)

    async def _invoke(self) -> Any:
        assert self.handler is not None
        value = self.handler(self.context)
        if inspect.isawaitable(value):
            value = await value
        return value

    def _arm_deadline(self) -> Optional[asyncio.TimerHandle]:
        if self.deadline_at is None:
            return None
        delay = max(0.0, self.deadline_at.timestamp() - time.time())
        return asyncio.get_running_loop().call_later(delay, self._on_deadline)

    def _timeout_secs(self) -> int:
        assert self.deadline_at is not None
        return max(0, round(self.deadline_at.timestamp() - self.claimed_at))

    async def _write_outcome(self) -> None:
        if self.lost:
            return
        await self.events.flush()
        if self.lost:
            return
        if self.reason is StopReason.SHUTDOWN:
            log.info("%s: stopped by the shutdown; leaving hands it back", self)
            return
        if self.cancel_requested:
            await self._fail("cancelled", retry=False)
            return
        if self.reason is StopReason.TIMEOUT:
            await self._fail(f"timed out after {self._timeout_secs()} s", retry=True)
            return
        task = self.handler_task
        assert task is not None and task.done()
        if task.cancelled():
            await self._fail("CancelledError: the handler's task was cancelled", retry=True)
            return
        error = task.exception()
        if isinstance(error, AttemptLostError):
            return
        if error is not None:
            retry = not isinstance(error, NonRetryableError)
            log.info("%s failed (%s): %s", self, "retryable" if retry else "not retryable", _wire.describe(error),
                     exc_info=error if retry else None)
            await self._fail(_wire.describe(error), retry=retry)
            return
        try:
            result = _wire.encode(task.result(), "the handler's result")
        except TypeError as e:
            await self._fail(str(e), retry=False)
            return
        await self._complete(result)

    async def _complete(self, result: bytes) -> None:
        if len(result) > _protocol.BODY_LIMIT_BYTES - 128:
            await self._fail(f"the result is {len(result)} bytes of JSON, over the gateway's 1 MiB limit", retry=False)
            return
        try:
            item = await self.worker.completions.complete(self, result)
        except AttemptLostError:
            return
        except ProblemError as e:
            # Refused for what it is (too deep, too big): retrying would be refused again.
            await self._fail(f"the gateway refused the result: {e.detail or e}", retry=False)
            return
        if item.get("status") == "attempt-lost":
            self.mark_lost(cancel_handler=False)
            return
        self.worker.stats.completed += 1
        self.worker.stats.last_outcome_at = time.monotonic()

    async def _fail(self, error: str, *, retry: bool) -> None:
        body = _wire.encode({"error": _wire.truncate(error), "retry": retry}, "the error")
        try:
            # An outcome is retried for as long as it takes: giving up would strand the job.
            answer = await self.send("fail", "POST", self.path + "/fail", body, retry_for_secs=None)
        except AttemptLostError:
            return
        except ProblemError as e:
            log.error("%s: the gateway refused its fail: %s", self, e)
            return
        self.worker.stats.failed += 1
        self.worker.stats.last_outcome_at = time.monotonic()
        log.debug("%s: failed, job now %s", self, answer.field("status"))


class _TextRun:
    """Consecutive text-only ``output`` events, written as one event with their texts joined."""

    __slots__ = ("parts", "chars")

    # A run stops growing past this many characters (the next text starts a new one).
    MAX_CHARS = 64 * 1024

    def __init__(self, text: str) -> None:
        self.parts = [text]
        self.chars = len(text)

    def add(self, text: str) -> bool:
        if self.chars + len(text) > self.MAX_CHARS:
            return False
        self.parts.append(text)
        self.chars += len(text)
        return True

    def encode(self) -> bytes:
        return _wire.encode({"type": "output", "data": {"text": "".join(self.parts)}}, "the event's data")


class EventWriter:
    """A job's handler events: one write in flight at a time, the rest gathered into the next.

    Writes are at most one per coalescing window (the first at once); consecutive ``output``
    events whose data is only ``{"text": ...}`` are joined into one, in order, as the Java worker
    does. A flush (before a checkpoint or the outcome) skips the window's wait.
    """

    def __init__(self, attempt: Attempt) -> None:
        self._attempt = attempt
        self._pending: Deque[Union[bytes, _TextRun]] = collections.deque()
        self._task: Optional["asyncio.Task[None]"] = None
        self._next_write_at = 0.0  # loop time
        self._hurry = asyncio.Event()

    @property
    def backlog(self) -> int:
        return len(self._pending)

    def add(self, type: str, data: Any) -> None:
        """Queue an event; TypeError if its data is not JSON, ValueError if it is too big."""
        text = data.get("text") if type == "output" and isinstance(data, dict) and len(data) == 1 else None
        if isinstance(text, str) and len(text) <= _TextRun.MAX_CHARS:
            last = self._pending[-1] if self._pending else None
            if not (isinstance(last, _TextRun) and last.add(text)):
                self._pending.append(_TextRun(text))
        else:
            encoded = _wire.encode({"type": type, "data": data}, "the event's data")
            if len(encoded) > _protocol.BODY_LIMIT_BYTES - 64:
                raise ValueError(f"the event is {len(encoded)} bytes of JSON, over the gateway's 1 MiB limit")
            self._pending.append(encoded)
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain())

    async def flush(self) -> None:
        """Wait until the queue is empty (written, or dropped when retries ran out or it was lost)."""
        while self._task is not None:
            self._hurry.set()
            await asyncio.shield(self._task)

    def _take(self) -> List[bytes]:
        taken: List[bytes] = []
        size = 0
        while self._pending and len(taken) < _protocol.MAX_EVENTS_PER_WRITE:
            head = self._pending[0]
            encoded = head.encode() if isinstance(head, _TextRun) else head
            size += len(encoded) + 1
            if taken and size > _protocol.BATCH_BODY_BYTES:
                break
            self._pending.popleft()
            taken.append(encoded)
        return taken

    async def _drain(self) -> None:
        attempt = self._attempt
        loop = asyncio.get_running_loop()
        try:
            while self._pending and not attempt.lost:
                wait = self._next_write_at - loop.time()
                if wait > 0 and not self._hurry.is_set():
                    try:
                        await asyncio.wait_for(self._hurry.wait(), wait)
                    except asyncio.TimeoutError:
                        pass
                self._hurry.clear()
                batch = self._take()
                self._next_write_at = loop.time() + attempt.worker.event_coalesce_secs
                body = b'{"events":[' + b",".join(batch) + b"]}"
                try:
                    await attempt.send(
                        "events", "POST", attempt.path + "/events", body, retry_for_secs=attempt.worker.http_retry_secs
                    )
                except AttemptLostError:
                    # Nobody awaits this write: the handler learns it by being cancelled.
                    attempt.mark_lost(cancel_handler=True)
                except SpoolError as e:
                    log.warning("%s: %d events dropped: %s", attempt, len(batch), e)
        except Exception:
            log.exception("%s: writing events failed", attempt)
        finally:
            if attempt.lost:
                self._pending.clear()
            self._task = None


def _retrieve(task: "asyncio.Future[Any]") -> None:
    """Mark a background task's exception as seen (it was handled, or nobody is left to see it)."""
    if not task.cancelled():
        task.exception()
