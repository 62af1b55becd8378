"""Spend limits on the hot path: tenant status, model prices, budget reservations and their settlement.

This first version enforces tenant status and prices every turn; budget reservations are accepted as-is
until per-tenant limits exist (see `reserve`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atende.errors import TenantSuspended
from atende.models.tenants import Tenant
from atende.pricing import PRICE_TABLE_VERSION, ModelPrice, cost_micros, resolve_price


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


@dataclass(frozen=True)
class Reservation:
    tenant_id: str
    request_id: str
    amount_micros: int


def ensure_active(tenant: Tenant) -> None:
    if not tenant.active:
        raise TenantSuspended(
            f"This tenant is suspended: {tenant.status_reason or 'no reason given'} (since {tenant.status_since}).",
            code="tenant_suspended",
        )


def price_for(tenant: Tenant, model: str) -> ModelPrice | None:
    return resolve_price(model)


def turn_cost(price: ModelPrice | None, usage: Usage) -> int:
    if price is None:
        return 0
    return cost_micros(
        price,
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        output_tokens=usage.output_tokens,
    )


def reserve(tenant: Tenant, request_id: str, amount_micros: int) -> Reservation:
    return Reservation(tenant.id, request_id, amount_micros)


def settlement_operations(reservation: Reservation, cost: int, usage: Usage, *, bot_id: str, model: str) -> list[dict]:
    """Transaction items that settle a reservation; written with the turn's messages in one transaction."""
    return []


def release(reservation: Reservation) -> None:
    """Give back a reservation whose call failed before any usage was billed."""


def price_version() -> str:
    return PRICE_TABLE_VERSION
