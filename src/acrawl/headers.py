"""Parsing HTTP header values a server controls: small pure functions that never raise.

>>> retry_after_seconds("120")
120.0
>>> retry_after_seconds("²") is None     # looks like a digit to str.isdigit(), is none
True
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["retry_after_seconds"]


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` value asks for, in seconds (``>= 0``), or None if it is
    unusable (the caller's default backoff applies).

    RFC 9110: delta-seconds (ASCII digits only: ``str.isdigit()`` also accepts ``²`` and
    other Unicode digits, which are not a number here) or an HTTP date (one in the past means
    now; a date without a zone is taken as UTC)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # (more digits than a float holds: "very long")
        return float(value) if len(value) <= 15 else 1e15
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = (when - (now or datetime.now(UTC))).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, wait)
