"""Spool's Python worker SDK: run Spool job types as asyncio handlers over the worker protocol.

    from spool_worker import Worker, JobContext

    worker = Worker(url="http://127.0.0.1:8080", key="...", queues=["default"], concurrency=100)

    @worker.handler("research")
    async def research(ctx: JobContext):
        await ctx.emit("output", {"text": "thinking"})
        return {"answer": 42}

    worker.run()
"""

from ._version import __version__
from .context import EffectFn, JobContext
from .errors import (
    AttemptLostError,
    GatewayUnreachableError,
    NonRetryableError,
    ProblemError,
    SpoolError,
    WorkerGoneError,
)
from .worker import Worker, WorkerStats

__all__ = [
    "AttemptLostError",
    "EffectFn",
    "GatewayUnreachableError",
    "JobContext",
    "NonRetryableError",
    "ProblemError",
    "SpoolError",
    "Worker",
    "WorkerGoneError",
    "WorkerStats",
    "__version__",
]
