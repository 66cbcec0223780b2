"""Completions in group commits: ``POST /v1/workers/{wid}/complete`` with many attempts at once."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from typing import TYPE_CHECKING, Any, Deque, Dict, List, NamedTuple, Optional

from . import _protocol
from .errors import AttemptLostError, SpoolError

if TYPE_CHECKING:
    from ._attempt import Attempt
    from .worker import Worker

log = logging.getLogger("spool_worker")


class _Pending(NamedTuple):
    attempt: "Attempt"
    result: bytes  # the result's JSON
    answer: "asyncio.Future[Dict[str, Any]]"


class CompletionBatcher:
    """Sends at once when nothing is in flight; otherwise gathers what arrives meanwhile.

    One batch is in flight at a time, of at most 1,000 attempts and half the gateway's body limit.
    A batch the gateway refuses or cannot take is sent again one attempt at a time through the
    attempt's own route, so one bad result never sinks the others and none is dropped.
    """

    def __init__(self, worker: "Worker") -> None:
        self._worker = worker
        self._queue: Deque[_Pending] = collections.deque()
        self._writer: Optional["asyncio.Task[None]"] = None

    def complete(self, attempt: "Attempt", result: bytes) -> "asyncio.Future[Dict[str, Any]]":
        """The batch's answer for this attempt (``status``: completed or attempt-lost).

        Fails with ProblemError when the gateway refuses the result itself (400, 413, 422).
        """
        answer: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(attempt, result, answer))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._run())
        return answer

    async def _run(self) -> None:
        try:
            while self._queue:
                await self._send(self._take())
        finally:
            self._writer = None

    def _take(self) -> List[_Pending]:
        batch: List[_Pending] = []
        size = 0
        while self._queue and len(batch) < _protocol.MAX_BATCH_COMPLETE:
            size += len(self._queue[0].result) + 80
            if batch and size > _protocol.BATCH_BODY_BYTES:
                break
            batch.append(self._queue.popleft())
        return batch

    async def _send(self, batch: List[_Pending]) -> None:
        worker_id = self._worker.worker_id
        if worker_id is None or len(batch[0].result) > _protocol.BATCH_BODY_BYTES:
            await self._one_by_one(batch)
            return
        items = b",".join(
            b'{"id":%s,"attempt":%d,"result":%s}' % (_quoted(p.attempt.job_id), p.attempt.number, p.result)
            for p in batch
        )
        try:
            answer = await self._worker.api.call(
                "complete_batch",
                "POST",
                _protocol.worker(worker_id) + "/complete",
                b'{"jobs":[' + items + b"]}",
                retry_for_secs=self._worker.http_retry_secs,
            )
        except SpoolError as e:
            # 410 included: each attempt's own route is fenced by the attempt alone.
            log.warning("batched complete of %d attempts failed (%s); sending them one by one", len(batch), e)
            await self._one_by_one(batch)
            return
        answered = answer.field("jobs")
        answered = answered if isinstance(answered, list) else []
        unanswered: List[_Pending] = []
        for i, pending in enumerate(batch):
            item = answered[i] if i < len(answered) else None
            if isinstance(item, dict) and item.get("id", pending.attempt.job_id) == pending.attempt.job_id:
                _resolve(pending, item)
            else:
                unanswered.append(pending)
        if unanswered:
            log.warning("batched complete left %d of %d attempts unanswered; sending them one by one",
                        len(unanswered), len(batch))
            await self._one_by_one(unanswered)

    async def _one_by_one(self, batch: List[_Pending]) -> None:
        await asyncio.gather(*(self._complete_one(p) for p in batch))

    async def _complete_one(self, pending: _Pending) -> None:
        attempt = pending.attempt
        try:
            answer = await attempt.send(
                "complete",
                "POST",
                attempt.path + "/complete",
                b'{"result":' + pending.result + b"}",
                retry_for_secs=None,
            )
        except AttemptLostError:
            _resolve(pending, {"id": attempt.job_id, "attempt": attempt.number, "status": "attempt-lost"})
        except Exception as e:
            if not pending.answer.done():
                pending.answer.set_exception(e)
        else:
            body = answer.body if isinstance(answer.body, dict) else {}
            _resolve(pending, body)


def _resolve(pending: _Pending, item: Dict[str, Any]) -> None:
    if not pending.answer.done():
        pending.answer.set_result(item)


def _quoted(text: str) -> bytes:
    return json.dumps(text).encode("utf-8")
