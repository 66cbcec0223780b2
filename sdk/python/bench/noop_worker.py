"""A worker whose handler returns at once, to measure the SDK's cost per job.

    SPOOL_URL=... SPOOL_WORKER_KEY=... /usr/bin/python3 bench/noop_worker.py [TYPE] [JOBS]

serves TYPE (argv, else $BENCH_TYPE, else "noop") with concurrency $BENCH_CONCURRENCY (100). Once it
has completed JOBS jobs (argv, else $BENCH_JOBS, else 10000), or when no job has ended for
$BENCH_IDLE_SECS (10) after the first, it prints one JSON line and stops gracefully:

    {"type", "jobs", "seconds", "jobs_per_sec", "requests", "requests_per_job", "requests_per_job_by_kind", ...}

``seconds`` runs from the first claim answer that carried jobs to the last completion; ``requests``
counts every HTTP request the worker made (retries included) by kind of route. Submit the jobs
with anything (``bin/spool bench --type noop ...``, curl), or pass ``--submit`` (with
$SPOOL_API_KEY, a user key) to have this script submit JOBS jobs itself in batches of 1,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spool_worker import JobContext, Worker  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("type", nargs="?", default=os.environ.get("BENCH_TYPE", "noop"))
    parser.add_argument("jobs", nargs="?", type=int, default=int(os.environ.get("BENCH_JOBS", "10000")))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_CONCURRENCY", "100")))
    parser.add_argument("--idle-secs", type=float, default=float(os.environ.get("BENCH_IDLE_SECS", "10")))
    parser.add_argument("--start-timeout-secs", type=float,
                        default=float(os.environ.get("BENCH_START_TIMEOUT_SECS", "600")),
                        help="give up when no job has come within this")
    parser.add_argument("--submit", action="store_true", help="submit the jobs too ($SPOOL_API_KEY)")
    return parser.parse_args()


async def submit(url: str, api_key: str, kind: str, jobs: int) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60) as http:
        left = jobs
        while left > 0:
            size = min(1000, left)
            answer = await http.post("/v1/jobs/batch", json={"jobs": [{"type": kind, "request": {}}] * size})
            if answer.status_code == 429:
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            answer.raise_for_status()
            left -= size


async def bench(args: argparse.Namespace) -> Dict[str, Any]:
    worker = Worker(concurrency=args.concurrency, name="py-bench", shutdown_grace_secs=10)

    @worker.handler(args.type)
    async def noop(ctx: JobContext) -> None:
        return None

    serving = asyncio.ensure_future(worker.serve())
    started = time.monotonic()
    submitting = None
    while not serving.done():
        await asyncio.sleep(0.05)
        stats = worker.stats
        if args.submit and submitting is None and worker.worker_id is not None:
            api_key = os.environ.get("SPOOL_API_KEY")
            if not api_key:
                raise SystemExit("--submit needs SPOOL_API_KEY (a user key)")
            submitting = asyncio.ensure_future(submit(worker.url, api_key, args.type, args.jobs))
        if submitting is not None and submitting.done() and submitting.exception() is not None:
            worker.stop()
            break
        ended = stats.completed + stats.failed
        now = time.monotonic()
        if ended >= args.jobs:
            break
        if ended and stats.last_outcome_at is not None and now - stats.last_outcome_at > args.idle_secs:
            break
        if not ended and now - started > args.start_timeout_secs:
            break
    report = summary(args, worker)
    print(json.dumps(report), flush=True)
    worker.stop()
    await serving
    if submitting is not None:
        await submitting
    return report


def summary(args: argparse.Namespace, worker: Worker) -> Dict[str, Any]:
    stats = worker.stats
    jobs = stats.completed
    seconds = (
        stats.last_outcome_at - stats.first_job_claimed_at
        if stats.first_job_claimed_at is not None and stats.last_outcome_at is not None
        else 0.0
    )
    requests = dict(sorted(stats.requests.items()))
    total = sum(requests.values())
    return {
        "type": args.type,
        "concurrency": args.concurrency,
        "jobs": jobs,
        "failed": stats.failed,
        "seconds": round(seconds, 3),
        "jobs_per_sec": round(jobs / seconds, 1) if seconds > 0 else None,
        "requests": requests,
        "requests_total": total,
        "requests_per_job": round(total / jobs, 4) if jobs else None,
        "requests_per_job_by_kind": {k: round(v / jobs, 4) for k, v in requests.items()} if jobs else {},
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    asyncio.run(bench(parse_args()))


if __name__ == "__main__":
    main()
