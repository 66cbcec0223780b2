"""The worker protocol's bounds and paths (docs/worker-protocol.md), kept in one place."""

from __future__ import annotations

import re
from urllib.parse import quote

# Job type, queue and worker names: 1-64 letters, digits, ".", "_", "-".
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_TYPES = 64
MAX_CONCURRENCY = 10_000
# A claim asks for 1-1000 jobs and waits 0-25 s.
MAX_CLAIM = 1000
MAX_WAIT_SECS = 25
# One batched complete carries 1-1000 attempts; one events write 1-1000 events.
MAX_BATCH_COMPLETE = 1000
MAX_EVENTS_PER_WRITE = 1000
EVENT_TYPES = ("progress", "output")
# Side-effect names: 1-200 characters.
MAX_EFFECT_NAME = 200
# The gateway refuses bodies over 1 MiB (413). A batched write stops growing at half of it, so
# that a batch of many results is never refused for its size; a lone body may go up to the limit.
BODY_LIMIT_BYTES = 1024 * 1024
BATCH_BODY_BYTES = 512 * 1024
PROBLEM_PREFIX = "urn:spool:problem:"


def workers() -> str:
    return "/v1/workers"


def worker(worker_id: str) -> str:
    return f"/v1/workers/{quote(worker_id, safe='')}"


def attempt(job_id: str, number: int) -> str:
    return f"/v1/jobs/{quote(job_id, safe='')}/attempts/{number}"
