"""Billing periods: UTC calendar months and days, their resets, and the text forms of times and amounts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from atende.billing.pricing import micros_to_usd


def utc(now: float | None = None) -> datetime:
    return datetime.fromtimestamp(time.time() if now is None else now, UTC)


def periods(moment: datetime) -> tuple[str, str]:
    """('2026-11', '05'): the month counter and the day within it."""
    return moment.strftime("%Y-%m"), moment.strftime("%d")


def month_reset(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def day_reset(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    """A stored ISO-8601 UTC time ('…Z'), back as an aware datetime."""
    return datetime.fromisoformat(text)


def usd_text(micros: int) -> str:
    """'12.50', '0.000125': at least cents, never trailing noise."""
    text = format(micros_to_usd(micros).normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"
