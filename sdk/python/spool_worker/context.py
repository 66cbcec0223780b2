"""What a handler gets: its job, and the writes it may make for its attempt."""

from __future__ import annotations

import inspect
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, Optional, Union
from urllib.parse import quote

from . import _protocol, _wire
from .errors import ProblemError

if TYPE_CHECKING:
    from ._attempt import Attempt

# What ``once`` runs: given the idempotency key, it answers the effect's result, or an awaitable of it.
EffectFn = Callable[[str], Union[Any, Awaitable[Any]]]


class JobContext:
    """One attempt of one job, as its handler sees it.

    Every write is fenced by the attempt: once the attempt no longer holds its job, writes raise
    AttemptLostError and nothing more is written for it. An answer that says the job was asked to
    cancel sets ``cancelled`` and cancels the handler's task.
    """

    def __init__(self, attempt: "Attempt") -> None:
        self._attempt = attempt

    @property
    def job_id(self) -> str:
        return self._attempt.job_id

    @property
    def type(self) -> str:
        return self._attempt.type

    @property
    def queue(self) -> str:
        return self._attempt.queue

    @property
    def user_id(self) -> Optional[str]:
        """The user who submitted the job."""
        return self._attempt.user_id

    @property
    def request(self) -> Any:
        """The submission's ``request`` (a JSON object, as dicts and lists)."""
        return self._attempt.request

    @property
    def attempt(self) -> int:
        """This attempt's number, 1 for the first; counts attempts lost to crashes and hand-backs."""
        return self._attempt.number

    @property
    def max_attempts(self) -> int:
        return self._attempt.max_attempts

    @property
    def checkpoint(self) -> Any:
        """The last checkpoint saved by any attempt (this one's included), or None."""
        return self._attempt.checkpoint

    @property
    def effects(self) -> Mapping[str, Any]:
        """The side effects recorded so far (name -> result), read-only."""
        return MappingProxyType(self._attempt.effects)

    @property
    def deadline_at(self) -> Optional[datetime]:
        """When this attempt times out (aware, UTC): the handler is cancelled then."""
        return self._attempt.deadline_at

    @property
    def cancelled(self) -> bool:
        """True once the job was asked to cancel; the handler's task is cancelled too."""
        return self._attempt.cancel_requested

    async def emit(self, type: str, data: Any) -> None:
        """Append a ``progress`` or ``output`` event to the job's log, streamed to its watchers.

        Does not wait for the write: events go out in order, at most one write per
        ``event_coalesce_millis`` (the first at once), everything emitted meanwhile together;
        consecutive ``output`` events whose data is only ``{"text": ...}`` are joined into one.
        All of them are written before each checkpoint and before the attempt's outcome;
        ``flush()`` waits for them. ``emit`` itself waits only when 1,000 events are queued.
        """
        if type not in _protocol.EVENT_TYPES:
            raise ValueError(f"event type must be one of {', '.join(_protocol.EVENT_TYPES)}, not {type!r}")
        self._attempt.check_writable()
        events = self._attempt.events
        events.add(type, data)
        if events.backlog >= _protocol.MAX_EVENTS_PER_WRITE:
            await events.flush()

    async def flush(self) -> None:
        """Wait until every event emitted so far has been written (or dropped after retries)."""
        await self._attempt.events.flush()
        self._attempt.check_not_lost()

    async def save_checkpoint(self, state: Any) -> None:
        """Save ``state`` (any JSON) as the job's checkpoint; a later attempt starts from it."""
        body = _wire.encode({"state": state}, "the checkpoint")
        self._attempt.check_writable()
        await self._attempt.events.flush()
        await self._attempt.write("checkpoint", "PUT", "/checkpoint", body)
        self._attempt.checkpoint = _wire.decode(body)["state"]

    async def once(self, name: str, fn: EffectFn) -> Any:
        """Run a side effect at most once per job, across all its attempts; answer its result.

        ``fn(key)`` gets the idempotency key ``"<job id>:<name>"`` to pass to the outside service
        (it covers a crash between doing the effect and recording it); it may be a plain or an async
        function and must answer JSON. When the effect is already recorded, ``fn`` is not called and
        the recorded result is answered. A plain ``fn`` runs on the event loop: wrap blocking work
        in ``asyncio.to_thread``.
        """
        if not isinstance(name, str) or not 1 <= len(name) <= _protocol.MAX_EFFECT_NAME:
            raise ValueError(f"an effect's name is 1-{_protocol.MAX_EFFECT_NAME} characters")
        attempt = self._attempt
        attempt.check_writable()
        async with attempt.effect_lock(name):
            if name in attempt.effects:
                return attempt.effects[name]
            if not attempt.effects_known:
                recorded = await self._recorded_effect(name)
                if recorded is not _NOTHING:
                    attempt.effects[name] = recorded
                    return recorded
            value = fn(f"{attempt.job_id}:{name}")
            if inspect.isawaitable(value):
                value = await value
            body = _wire.encode({"result": value}, f"the result of effect {name!r}")
            answer = await attempt.write("effect_put", "PUT", _effect_suffix(name), body)
            # The first record wins: a repeat's answer carries the first result, not ours.
            result = _wire.decode(body)["result"] if answer.field("recorded", True) else answer.field("result")
            attempt.effects[name] = result
            return result

    async def _recorded_effect(self, name: str) -> Any:
        try:
            answer = await self._attempt.write("effect_get", "GET", _effect_suffix(name), None)
        except ProblemError as e:
            if e.status == 404 and e.slug == "effect-not-found":
                return _NOTHING
            raise
        return answer.field("result")

    def __repr__(self) -> str:
        return f"JobContext(job_id={self.job_id!r}, type={self.type!r}, attempt={self.attempt})"


_NOTHING: Any = object()


def _effect_suffix(name: str) -> str:
    return "/effects/" + quote(name, safe="")
