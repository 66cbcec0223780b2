"""The exceptions a handler raises or sees."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from . import _protocol


class SpoolError(Exception):
    """Base of the SDK's own errors."""


class NonRetryableError(Exception):
    """Raise it from a handler to fail the job at once, whatever attempts it has left.

    The job ends ``failed`` (in the dead-letter queue) with ``"<class name>: <message>"`` as its
    error. Subclass it for your own permanent failures (bad input, a refused request).
    """


class AttemptLostError(SpoolError):
    """The attempt no longer holds its job: every write for it is refused (409 ``attempt-lost``).

    The job was reaped, handed back, cancelled or finished by another attempt. Let it propagate: the
    SDK writes nothing more for this attempt.
    """

    def __init__(self, job_id: str, attempt: int, detail: Optional[str] = None) -> None:
        super().__init__(detail or f"attempt {attempt} of job {job_id} is no longer current")
        self.job_id = job_id
        self.attempt = attempt


class ProblemError(SpoolError):
    """The gateway answered an error (an ``application/problem+json`` body, when it sent one)."""

    def __init__(self, method: str, path: str, status: int, problem: Mapping[str, Any]) -> None:
        kind = problem.get("type")
        self.status = status
        # The problem's slug (``attempt-lost``, ``worker-gone``, ``validation`` ...), or None.
        self.slug: Optional[str] = (
            kind[len(_protocol.PROBLEM_PREFIX) :]
            if isinstance(kind, str) and kind.startswith(_protocol.PROBLEM_PREFIX)
            else None
        )
        self.title: Optional[str] = _text(problem.get("title"))
        self.detail: Optional[str] = _text(problem.get("detail"))
        self.problem = dict(problem)
        said = self.detail or self.title or ""
        super().__init__(
            f"{method} {path} answered {status}"
            + (f" ({self.slug})" if self.slug else "")
            + (f": {said}" if said else "")
        )


class WorkerGoneError(ProblemError):
    """410 ``worker-gone``: the worker was declared dead or has left; it must register again."""


class GatewayUnreachableError(SpoolError):
    """The gateway could not be reached (or kept answering 429/5xx) for as long as retries last."""


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None
