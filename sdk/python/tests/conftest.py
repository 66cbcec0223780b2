"""Fixtures for the tests: a real gateway (from the environment), a user client, workers."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable

import httpx
import pytest

from support import Settings, UserApi
from spool_worker import Worker


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
async def spool(settings: Settings) -> AsyncIterator[UserApi]:
    api = UserApi(settings)
    try:
        yield api
    finally:
        await api.aclose()


@pytest.fixture
async def worker_http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Raw calls with the worker key, for what only an operator or the gateway would do."""
    client = httpx.AsyncClient(
        base_url=settings.url, headers={"Authorization": f"Bearer {settings.worker_key}"}, timeout=30.0
    )
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def make_worker(settings: Settings) -> Callable[..., Worker]:
    def make(**options: Any) -> Worker:
        options.setdefault("concurrency", 20)
        options.setdefault("name", "py-sdk-test")
        return Worker(url=settings.url, key=settings.worker_key, **options)

    return make
