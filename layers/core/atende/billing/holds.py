"""Suspension by a limit: the hold an alarm puts on a tenant, and lifting it when the alarm returns to OK."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from atende.billing.alarms import parse_alarm_name
from atende.billing.periods import day_reset, iso, month_reset, usd_text, utc
from atende.models.limits import AlarmNotification, Hold, Limits
from atende.platform.observability import logger
from atende.store import stores
from atende.store.table import AuditEntry, transaction_cancel_reasons


def hold_for(cause: str, limits: Limits, moment: datetime) -> Hold:
    """The suspension a limit's alarm puts on a tenant, with the message its refused calls carry."""
    since = iso(moment)
    if cause == "global_daily_budget":
        resets = iso(day_reset(moment))
        message = (
            "Atende's daily budget for all tenants together (the operator's kill switch) is used up. "
            f"Calls resume when it resets at {resets} or when the operator raises it."
        )
        return Hold(cause, message, "global_daily_budget_exceeded", "global_daily_budget", resets, since)
    monthly = cause == "monthly_budget"
    budget = limits.monthly_budget_micros if monthly else limits.daily_budget_micros
    resets = iso(month_reset(moment) if monthly else day_reset(moment))
    period = "monthly" if monthly else "daily"
    amount = f" of {usd_text(budget)} USD" if budget is not None else ""
    message = f"the {period} budget{amount} is used up. Calls resume when it resets at {resets} or when it is raised."
    return Hold(cause, message[0].upper() + message[1:], f"{cause}_exceeded", f"{cause}_usd", resets, since)


def handle_notification(note: AlarmNotification) -> list[str]:
    """ALARM on a hard alarm suspends its tenant (the global alarm: every tenant); OK lifts that suspension.

    Returns the tenants whose holds changed. Safe to receive twice (SNS delivers at least once).
    """
    parsed = parse_alarm_name(note.AlarmName)
    if parsed is None or note.NewStateValue == "INSUFFICIENT_DATA":
        logger.info("alarm ignored", extra={"alarm": note.AlarmName, "state": note.NewStateValue})
        return []
    tenant_id, cause = parsed
    targets = [tenant_id] if tenant_id else [t.id for t in stores().tenants.list()]
    act = apply_hold if note.NewStateValue == "ALARM" else lift_hold
    changed = [target for target in targets if act(target, cause)]
    logger.info(
        "alarm handled",
        extra={"alarm": note.AlarmName, "state": note.NewStateValue, "cause": cause, "tenants": changed},
    )
    return changed


def _retrying(change: Any, tenant_id: str, cause: str) -> bool:
    """Run a read-decide-write `change` until no concurrent writer beat it (a few tries)."""
    for _ in range(5):
        try:
            return bool(change(tenant_id, cause))
        except ClientError as error:
            if not transaction_cancel_reasons(error):
                raise
    raise RuntimeError(f"could not update the holds of tenant {tenant_id}: too many concurrent changes")


def apply_hold(tenant_id: str, cause: str) -> bool:
    return _retrying(_apply_hold, tenant_id, cause)


def lift_hold(tenant_id: str, cause: str) -> bool:
    return _retrying(_lift_hold, tenant_id, cause)


def _audit(tenant_id: str, action: str) -> AuditEntry:
    return AuditEntry(tenant_id, "limits", action, f"tenant/{tenant_id}", ["status"])


def _apply_hold(tenant_id: str, cause: str) -> bool:
    tenant = stores().tenants.get(tenant_id, consistent=True)
    config = stores().usage.limits(tenant_id, consistent=True)
    if tenant is None or cause in config.holds:
        return False
    moment = utc()
    hold = hold_for(cause, config.effective, moment)
    profile: dict[str, Any] | None = None
    if tenant.active:  # an operator's suspension keeps its own reason; the hold only waits beside it
        profile = {
            "status": "suspended",
            "status_reason": hold.message,
            "status_cause": cause,
            "status_since": iso(moment),
        }
    stores().usage.write_holds(
        tenant_id,
        {**config.holds, cause: hold},
        expected_version=config.version,
        profile=profile,
        profile_seen=tenant.updated_at,
        audit=_audit(tenant_id, "tenant.suspend"),
    )
    return True


def _lift_hold(tenant_id: str, cause: str) -> bool:
    tenant = stores().tenants.get(tenant_id, consistent=True)
    config = stores().usage.limits(tenant_id, consistent=True)
    if tenant is None or cause not in config.holds:
        return False
    holds = {other: hold for other, hold in config.holds.items() if other != cause}
    profile: dict[str, Any] | None = None
    if not tenant.active and tenant.status_cause == cause:  # suspended by this very limit
        if holds:
            other, hold = next(iter(holds.items()))
            profile = {"status_reason": hold.message, "status_cause": other}
        else:
            profile = {"status": "active", "status_reason": None, "status_cause": None, "status_since": iso(utc())}
    stores().usage.write_holds(
        tenant_id,
        holds,
        expected_version=config.version,
        profile=profile,
        profile_seen=tenant.updated_at,
        audit=_audit(tenant_id, "tenant.resume" if profile and "status" in profile else "tenant.suspend"),
    )
    return True
