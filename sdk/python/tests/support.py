"""What the tests share: the gateway's settings, a user client, workers serving in the background."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, TypeVar

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spool_worker import Worker  # noqa: E402

ENV = ("SPOOL_URL", "SPOOL_API_KEY", "SPOOL_WORKER_KEY")
FINISHED = ("completed", "failed", "cancelled")
# Every test ends within this, whatever the gateway does.
TEST_TIMEOUT_SECS = 28.0

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def within(secs: float = TEST_TIMEOUT_SECS) -> Callable[[F], F]:
    """Fail the test if it runs longer than ``secs``, instead of hanging."""

    def wrap(test: F) -> F:
        @functools.wraps(test)
        async def bounded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await asyncio.wait_for(test(*args, **kwargs), secs)
            except asyncio.TimeoutError:
                pytest.fail(f"{test.__name__} did not finish within {secs:.0f} s")

        return bounded  # type: ignore[return-value]

    return wrap


def unique_type(what: str) -> str:
    """A job type no other test (nor an earlier run) uses: only this test's worker serves it."""
    return f"py-{what}-{secrets.token_hex(5)}"


class Settings:
    def __init__(self) -> None:
        missing = [name for name in ENV if not os.environ.get(name)]
        if missing:
            pytest.fail(
                "these tests run against a real Spool gateway; set "
                + ", ".join(missing)
                + ". SPOOL_URL is the gateway (http://127.0.0.1:8080), SPOOL_API_KEY a user key from its"
                " SPOOL_API_KEYS, SPOOL_WORKER_KEY a worker key from its SPOOL_WORKER_KEYS. For a local one:"
                " SPOOL_API_KEYS=u-0123456789abcdef=u SPOOL_WORKER_KEYS=w-0123456789abcdef=w bin/spool dev",
                pytrace=False,
            )
        self.url = os.environ["SPOOL_URL"].rstrip("/")
        self.api_key = os.environ["SPOOL_API_KEY"]
        self.worker_key = os.environ["SPOOL_WORKER_KEY"]


class UserApi:
    """The user side of the gateway: submit, read, cancel and follow jobs."""

    def __init__(self, settings: Settings) -> None:
        self.http = httpx.AsyncClient(
            base_url=settings.url, headers={"Authorization": f"Bearer {settings.api_key}"}, timeout=30.0
        )

    async def submit(self, type: str, request: Optional[Dict[str, Any]] = None, **fields: Any) -> Dict[str, Any]:
        answer = await self.http.post("/v1/jobs", json={"type": type, "request": request or {}, **fields})
        assert answer.status_code == 202, answer.text
        return answer.json()

    async def submit_many(self, type: str, requests: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        answer = await self.http.post("/v1/jobs/batch", json={"jobs": [{"type": type, "request": r} for r in requests]})
        assert answer.status_code == 202, answer.text
        return answer.json()["jobs"]

    async def get(self, job_id: str) -> Dict[str, Any]:
        answer = await self.http.get(f"/v1/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def finished(self, job_id: str) -> Dict[str, Any]:
        """The job once it has ended (long-polls the gateway)."""
        while True:
            answer = await self.http.get(f"/v1/jobs/{job_id}", params={"wait_secs": 10}, timeout=20.0)
            assert answer.status_code == 200, answer.text
            job = answer.json()
            if job["status"] in FINISHED:
                return job

    async def until(self, job_id: str, check: Callable[[Dict[str, Any]], bool]) -> Dict[str, Any]:
        while True:
            job = await self.get(job_id)
            if check(job):
                return job
            await asyncio.sleep(0.1)

    async def cancel(self, job_id: str) -> httpx.Response:
        return await self.http.post(f"/v1/jobs/{job_id}/cancel")

    async def events(self, job_id: str) -> List[Dict[str, Any]]:
        """The job's event log over SSE, from the first event up to and including ``end``."""
        events: List[Dict[str, Any]] = []
        async with self.http.stream(
            "GET", f"/v1/jobs/{job_id}/events", headers={"Accept": "text/event-stream"}, timeout=30.0
        ) as stream:
            assert stream.status_code == 200
            kind, data = None, []
            async for raw in stream.aiter_lines():
                line = raw.rstrip("\r\n")  # httpx 0.23 keeps the line ends
                if line.startswith("event:"):
                    kind = line[len("event:") :].strip()
                elif line.startswith("data:"):
                    data.append(line[len("data:") :].strip())
                elif line == "" and data:
                    event = json.loads("\n".join(data))
                    events.append(event)
                    if kind == "end" or event.get("type") == "end":
                        return events
                    kind, data = None, []
        return events

    async def aclose(self) -> None:
        await self.http.aclose()


class Serving:
    """A worker serving in the background of a test."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.task: Optional["asyncio.Task[None]"] = None

    async def start(self) -> "Serving":
        self.task = asyncio.ensure_future(self.worker.serve())
        # Registered, so the gateway knows its types and accepts jobs of them.
        while self.worker.worker_id is None:
            if self.task.done():
                self.task.result()
                raise AssertionError("serve() returned before registering")
            await asyncio.sleep(0.02)
        return self

    async def stopped(self, timeout: float = 20.0) -> None:
        """Ask the worker to stop and wait until serve() has returned."""
        assert self.task is not None
        self.worker.stop()
        await asyncio.wait_for(self.task, timeout)


@contextlib.asynccontextmanager
async def serving(worker: Worker) -> AsyncIterator[Serving]:
    running = await Serving(worker).start()
    try:
        yield running
    finally:
        if running.task is not None and not running.task.done():
            await running.stopped()
