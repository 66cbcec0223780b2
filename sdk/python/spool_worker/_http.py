"""HTTP calls to the gateway, with retries on what is worth retrying."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from typing import Any, Counter, Dict, Optional

import httpx

from .errors import GatewayUnreachableError, ProblemError, SpoolError, WorkerGoneError

log = logging.getLogger("spool_worker")

# Exponential backoff with full jitter: a random wait up to BASE * 2^n, the ceiling capped at MAX.
RETRY_BASE_SECS = 0.1
RETRY_MAX_SECS = 5.0
# 429 (rate limit, queue full) and the gateway or a proxy in front of it being briefly away.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# At most this long is spent on one Retry-After, whatever the gateway says.
MAX_RETRY_AFTER_SECS = 60.0
JSON_HEADERS = {"Content-Type": "application/json"}


class Answer:
    """A 2xx answer: its status and its JSON body (None for an empty body, as 204's)."""

    __slots__ = ("status", "body")

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default


class GatewayClient:
    """One pool of connections to the gateway; counts every request it sends by kind of route.

    Requests on it are never cancelled while in flight (httpcore 0.16 can leak a pool slot when
    one is): callers shield them. Only a dedicated client, such as the claim's, is cancelled, and
    is then closed with ``reset``.
    """

    def __init__(
        self,
        url: str,
        key: str,
        *,
        max_connections: int,
        request_timeout_secs: float,
        requests: Counter[str],
        user_agent: str,
    ) -> None:
        self._url = url.rstrip("/")
        self._key = key
        self._max_connections = max_connections
        self._request_timeout_secs = request_timeout_secs
        self._user_agent = user_agent
        # Shared with the worker's stats: requests sent (retries included) per kind of route.
        self.requests = requests
        self._client = self._new_client()

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._url,
            headers={"Authorization": f"Bearer {self._key}", "User-Agent": self._user_agent},
            timeout=httpx.Timeout(self._request_timeout_secs, connect=min(10.0, self._request_timeout_secs)),
            limits=httpx.Limits(
                max_connections=self._max_connections,
                max_keepalive_connections=self._max_connections,
            ),
        )

    async def reset(self) -> None:
        """Close the connections (after a cancelled request) and start a fresh pool."""
        old, self._client = self._client, self._new_client()
        await old.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        body: Optional[bytes] = None,
        *,
        retry_for_secs: Optional[float],
        timeout_secs: Optional[float] = None,
    ) -> Answer:
        """Send one request; retry connection errors, timeouts, 429 and 502-504 with backoff.

        ``retry_for_secs``: how long retries may go on before the last error is raised; None for
        as long as it takes (the caller cancels). Other 4xx and 5xx answers raise ProblemError at
        once (WorkerGoneError for 410).
        """
        started = time.monotonic()
        timeout = httpx.Timeout(timeout_secs, connect=min(10.0, timeout_secs)) if timeout_secs else None
        failures = 0
        while True:
            self.requests[kind] += 1
            error: SpoolError
            retry_after: Optional[float] = None
            try:
                response = await self._client.request(
                    method,
                    path,
                    content=body,
                    headers=JSON_HEADERS if body is not None else None,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as e:
                error = GatewayUnreachableError(f"{method} {path}: {type(e).__name__}: {e}".rstrip(": "))
            else:
                if response.status_code < 400:
                    return Answer(response.status_code, _json_body(method, path, response))
                problem = _problem(method, path, response)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise problem
                error = problem
                retry_after = _retry_after_secs(response)
            wait = retry_after if retry_after is not None else _backoff_secs(failures)
            failures += 1
            if retry_for_secs is not None and time.monotonic() - started + wait > retry_for_secs:
                raise error
            level = logging.WARNING if failures == 1 or failures % 10 == 0 else logging.DEBUG
            log.log(level, "%s; retry %d in %.2f s", error, failures, wait)
            await asyncio.sleep(wait)


def _backoff_secs(failures: int) -> float:
    return random.uniform(0, min(RETRY_MAX_SECS, RETRY_BASE_SECS * (2 ** min(failures, 20))))


def _retry_after_secs(response: httpx.Response) -> Optional[float]:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        secs = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        secs = when.timestamp() - time.time()
    # A little jitter, so that many workers told the same second do not all come back at once.
    return min(MAX_RETRY_AFTER_SECS, max(0.0, secs)) + random.uniform(0, 0.1)


def _json_body(method: str, path: str, response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError as e:
        raise SpoolError(f"{method} {path} answered {response.status_code} with a body that is not JSON") from e


def _problem(method: str, path: str, response: httpx.Response) -> ProblemError:
    problem: Dict[str, Any] = {}
    try:
        parsed = json.loads(response.content) if response.content else {}
        if isinstance(parsed, dict):
            problem = parsed
    except ValueError:
        problem = {"detail": response.text[:200]}
    kind = WorkerGoneError if response.status_code == 410 else ProblemError
    return kind(method, path, response.status_code, problem)
