"""What a tenant may spend: its limits (cached per container), model prices, and refusing a suspended tenant."""

from __future__ import annotations

from atende.billing.periods import from_iso, utc
from atende.billing.pricing import PRICE_TABLE_VERSION, ModelPrice, cost_micros, resolve_price
from atende.billing.refusals import refusal
from atende.billing.values import Usage
from atende.models.limits import TenantLimits
from atende.models.tenants import Tenant
from atende.platform.caching import LoadingCache
from atende.platform.errors import InvalidRequest, TenantSuspended
from atende.store import stores

LIMITS_CACHE_SECONDS = 60  # upper bound; a change to the limits also bumps the tenant's updated_at
# Keyed by (tenant, profile updated_at): a change to the limits moves updated_at, so it is read at once.
_limits_cache: LoadingCache[tuple[str, str], TenantLimits] = LoadingCache(LIMITS_CACHE_SECONDS)


def tenant_limits(tenant: Tenant) -> TenantLimits:
    """The tenant's LIMITS item, re-read when the profile's updated_at moves or after LIMITS_CACHE_SECONDS."""
    config = _limits_cache.get((tenant.id, tenant.updated_at), lambda: stores().usage.limits(tenant.id))
    assert config is not None  # the store answers empty limits for a tenant without any
    return config


def forget(tenant_id: str) -> None:
    """Drop this container's cached limits of `tenant_id` (after this container changed them)."""
    _limits_cache.forget(lambda key: key[0] == tenant_id)


def ensure_active(tenant: Tenant) -> None:
    """Refuse a suspended tenant; a suspension by a limit's alarm is answered naming it and its reset."""
    if tenant.active:
        return
    hold = tenant_limits(tenant).holds.get(tenant.status_cause or "")
    if hold is not None:  # suspended by a limit's alarm
        resets_at = from_iso(hold.resets_at)
        raise refusal(hold.code, hold.param, f"This tenant is suspended: {hold.message}", resets_at, utc())
    raise TenantSuspended(
        f"This tenant is suspended: {tenant.status_reason or 'no reason given'} (since {tenant.status_since}).",
        code="tenant_suspended",
    )


def model_price(config: TenantLimits, model: str) -> ModelPrice | None:
    """The tenant's price for `model` (operator overrides first); a tenant with a budget needs one."""
    price = resolve_price(model, config.prices)
    if price is None and config.effective.has_budget:
        raise InvalidRequest(
            f"Model '{model}' has no price in Atende's price table (version {PRICE_TABLE_VERSION}) and this "
            "tenant has a spend budget, so it cannot be used. Choose a priced model or ask the operator to add "
            "a price override for it.",
            param="model",
            code="model_not_priced",
        )
    return price


def price_for(tenant: Tenant, model: str, *, strict: bool = True) -> ModelPrice | None:
    """Before a call (`strict`): refuse an unpriced model for a budgeted tenant. After it: just the price."""
    config = tenant_limits(tenant)
    return model_price(config, model) if strict else resolve_price(model, config.prices)


def turn_cost(price: ModelPrice | None, usage: Usage) -> int:
    """Price x reported usage in micro-dollars (cached input at its own rate, rounded up once)."""
    if price is None:
        return 0
    return cost_micros(price, **usage.counts())
