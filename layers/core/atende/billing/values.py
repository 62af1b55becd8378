"""Billing value types: token usage as a provider reports it, and the budget held for one call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Usage:
    """Token usage as the provider reported it."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def from_openai(cls, usage: dict[str, Any] | None) -> Usage:
        usage = usage or {}
        details = usage.get("prompt_tokens_details") or {}
        return cls(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            cached_input_tokens=int(details.get("cached_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
        )

    def counts(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "cached_input_tokens": min(self.cached_input_tokens, self.input_tokens),
            "output_tokens": self.output_tokens,
        }


@dataclass(frozen=True)
class Reservation:
    """Budget held for one call: what settlement needs to consume it (or a release to give it back).

    Made and consumed by `budget.hold`, which settles or releases it on every exit path. `record` is the stored
    reservation's month, day, parts per shard and whether a day counter holds it too.
    """

    tenant_id: str
    request_id: str
    amount_micros: int
    tokens: int = 0
    month: str = ""  # yyyy-mm
    day: str = ""  # dd
    requests: int = 1  # 0: a call that is not a user request (a summary), outside the request quota
    record: Mapping[str, Any] = field(default_factory=dict)
