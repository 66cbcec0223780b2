"""JSON encoding, timestamps and error texts as the protocol wants them."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Optional

# A job's error text is cut to this many characters (the rest would only fill the dashboard).
MAX_ERROR_CHARS = 2000

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def encode(value: Any, what: str) -> bytes:
    """JSON for the wire; TypeError naming ``what`` if the value is not JSON (NaN included)."""
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as e:
        raise TypeError(f"{what} is not JSON-serialisable: {type(e).__name__}: {e}") from e


def decode(data: bytes) -> Any:
    return json.loads(data)


def describe(error: BaseException) -> str:
    """``"ExcType: message"`` (or just the type when there is no message), cut to a sane size."""
    text = str(error)
    return truncate(f"{type(error).__name__}: {text}" if text else type(error).__name__)


def truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_FRACTION = re.compile(r"\.(\d+)")


def parse_timestamp(value: Optional[str]) -> Optional[datetime]:
    """An RFC 3339 timestamp as an aware datetime (``Z`` and 1-9 fraction digits, on Python 3.9)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # fromisoformat before 3.11 takes exactly 3 or 6 fraction digits.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
