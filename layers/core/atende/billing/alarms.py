"""Each tenant's CloudWatch alarms and API Gateway usage plan, and what an alarm's change of state does to it."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from atende.billing.metrics import emit_gauges, emit_global_gauge
from atende.billing.periods import day_reset, iso, month_reset, periods, usd_text, utc
from atende.models.limits import AlarmNotification, Hold, Limits, TenantLimits
from atende.platform import aws
from atende.platform.observability import METRICS_NAMESPACE, logger
from atende.platform.settings import get_settings
from atende.store import stores
from atende.store.table import AuditEntry, transaction_cancel_reasons

# Alarm name suffix -> (hold cause, gauge it watches). A soft alarm adds "-soft" and only notifies.
BUDGETS = {
    "monthly-budget": ("monthly_budget", "MonthToDateCostMicros"),
    "daily-budget": ("daily_budget", "DayToDateCostMicros"),
}
GLOBAL_SUFFIX = "global-daily-budget"  # the template's GlobalDailyBudgetAlarm


def alarm_prefix(tenant_id: str) -> str:
    """Where the tenant's alarm names start (and tenant `{tenant_id}-x`'s too: check names with alarm_tenant)."""
    return f"atende-{get_settings().stage}-tenant-{tenant_id}-"


def alarm_tenant(name: str) -> tuple[str, str] | None:
    """(tenant id, suffix) of a tenant alarm of this stage, hard or soft; None for any other name.

    Exact although tenant ids contain hyphens: a name is the prefix, the id, "-" and one of a few suffixes, none
    of which ends another one after a "-", so stripping the suffix that matches leaves exactly the id.
    """
    start = f"atende-{get_settings().stage}-tenant-"
    if not name.startswith(start):
        return None
    rest = name.removeprefix(start)
    for suffix in (*BUDGETS, *(f"{suffix}-soft" for suffix in BUDGETS)):
        if rest.endswith("-" + suffix) and len(rest) > len(suffix) + 1:
            return rest.removesuffix("-" + suffix), suffix
    return None


def alarm_definitions(tenant_id: str, limits: Limits) -> list[dict[str, Any]]:
    """PutMetricAlarm arguments for the tenant's effective limits: a hard and an optional soft alarm per budget.

    Hard alarms (spend >= budget) act on the limits topic both ways: ALARM suspends, OK resumes. Soft ones
    (spend >= soft_limit_percent of the budget) notify once when crossed. `ignore` keeps an alarm's state
    through gaps; the limits function's schedule reports every budgeted tenant each minute anyway, so a new
    period (the gauge falls to 0) brings the alarm back to OK.
    """
    settings = get_settings()
    definitions = []
    for suffix, (cause, metric) in BUDGETS.items():
        budget = limits.monthly_budget_micros if cause == "monthly_budget" else limits.daily_budget_micros
        if budget is None:
            continue
        period = cause.split("_")[0]
        common = {
            "Namespace": METRICS_NAMESPACE,
            "MetricName": metric,
            "Dimensions": [{"Name": "Stage", "Value": settings.stage}, {"Name": "Tenant", "Value": tenant_id}],
            "Statistic": "Maximum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "ignore",
            "ActionsEnabled": True,
            "Tags": [{"Key": "atende:tenant", "Value": tenant_id}, {"Key": "atende:limit", "Value": cause}],
        }
        definitions.append(
            {
                **common,
                "AlarmName": alarm_prefix(tenant_id) + suffix,
                "AlarmDescription": f"Tenant {tenant_id} spent its {period} budget ({budget} micro-USD): "
                "ALARM suspends it, OK resumes it.",
                "Threshold": float(budget),
                "AlarmActions": [settings.limits_topic_arn],
                "OKActions": [settings.limits_topic_arn],
            }
        )
        if limits.soft_limit_percent is not None:
            definitions.append(
                {
                    **common,
                    "AlarmName": alarm_prefix(tenant_id) + suffix + "-soft",
                    "AlarmDescription": f"Tenant {tenant_id} spent {limits.soft_limit_percent}% of its {period} "
                    "budget (notification only).",
                    "Threshold": float(budget * limits.soft_limit_percent // 100),
                    "AlarmActions": [settings.notifications_topic_arn],
                    "OKActions": [],
                }
            )
    return definitions


def alarm_names(tenant_id: str, limits: Limits) -> list[str]:
    return [definition["AlarmName"] for definition in alarm_definitions(tenant_id, limits)]


def sync_alarms(tenant_id: str, limits: Limits) -> list[str]:
    """Create or update the alarms `limits` call for and delete the tenant's others; returns their names."""
    cloudwatch = aws.client("cloudwatch")
    wanted = alarm_definitions(tenant_id, limits)
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=alarm_prefix(tenant_id))
    listed = (alarm["AlarmName"] for page in pages for alarm in page.get("MetricAlarms", []))
    # The prefix also lists tenant `{tenant_id}-br`'s alarms: keep only the names that parse back to this tenant.
    existing = {name for name in listed if (parsed := alarm_tenant(name)) and parsed[0] == tenant_id}
    for definition in wanted:
        cloudwatch.put_metric_alarm(**definition)
    stale = sorted(existing - {d["AlarmName"] for d in wanted})
    for start in range(0, len(stale), 100):
        cloudwatch.delete_alarms(AlarmNames=stale[start : start + 100])
    return [d["AlarmName"] for d in wanted]


def parse_alarm_name(name: str) -> tuple[str | None, str] | None:
    """(tenant id, cause) of a hard tenant alarm, (None, 'global_daily_budget') of the global one, else None."""
    if name == f"atende-{get_settings().stage}-{GLOBAL_SUFFIX}":
        return None, "global_daily_budget"
    parsed = alarm_tenant(name)
    if parsed is None or parsed[1] not in BUDGETS:
        return None
    return parsed[0], BUDGETS[parsed[1]][0]


# --- usage plans --------------------------------------------------------------------------------
@cache
def rest_api_id() -> str | None:
    """The REST API's id, from the SSM parameter the template writes (see REST_API_ID_PARAMETER)."""
    name = get_settings().rest_api_id_parameter
    if not name:
        return None
    return str(aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])


def _plan_settings(limits: Limits) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    throttle = {}
    if limits.rate_limit_rps is not None:
        throttle["rateLimit"] = limits.rate_limit_rps
    if limits.rate_limit_burst is not None:
        throttle["burstLimit"] = limits.rate_limit_burst
    if throttle:
        settings["throttle"] = throttle
    if limits.monthly_request_quota is not None:
        settings["quota"] = {"limit": limits.monthly_request_quota, "period": "MONTH"}
    return settings


def sync_usage_plan(tenant_id: str, limits: Limits, config: TenantLimits) -> tuple[str | None, str | None]:
    """The tenant's usage plan (throttle, monthly quota) bound to its API Gateway key; (plan id, key id).

    Best-effort by design: API Gateway applies a plan only to methods that require an API key, and Atende's
    methods do not yet (that needs every tenant, and the root key, to own an API Gateway key the authorizer
    returns as `usageIdentifierKey`). The plan and key exist so switching enforcement on is a template and
    authorizer change, not a data migration. Money never depends on this: reservations hold budgets exactly,
    and the monthly request quota is also enforced by `reserve`. No rate limits: the plan goes, the key stays.
    """
    gateway, name = aws.client("apigateway"), f"atende-{get_settings().stage}-tenant-{tenant_id}"
    plan_id, key_id = config.usage_plan_id, config.usage_key_id
    if not limits.has_rate_limits:
        if plan_id:
            _delete_plan(plan_id)
        return None, key_id
    if key_id is None:
        key_id = gateway.create_api_key(
            name=name, description=f"Usage identifier of tenant {tenant_id}", enabled=True, tags={"tenant": tenant_id}
        )["id"]
    wanted = _plan_settings(limits)
    if plan_id:
        try:
            current = gateway.get_usage_plan(usagePlanId=plan_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NotFoundException":
                raise
            plan_id = None
    if plan_id:
        operations = []
        for section, values in (("throttle", wanted.get("throttle", {})), ("quota", wanted.get("quota", {}))):
            for field in ("rateLimit", "burstLimit") if section == "throttle" else ("limit", "period"):
                if field in values:
                    operations.append({"op": "replace", "path": f"/{section}/{field}", "value": str(values[field])})
                elif field in current.get(section, {}):
                    operations.append({"op": "remove", "path": f"/{section}/{field}"})
        if operations:
            gateway.update_usage_plan(usagePlanId=plan_id, patchOperations=operations)
        return plan_id, key_id
    api_id = rest_api_id()
    stages = [{"apiId": api_id, "stage": get_settings().stage}] if api_id else []
    plan_id = gateway.create_usage_plan(
        name=name,
        description=f"Rate limits of tenant {tenant_id}",
        apiStages=stages,
        tags={"tenant": tenant_id},
        **wanted,
    )["id"]
    gateway.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    return plan_id, key_id


def delete_tenant_resources(tenant_id: str) -> None:
    """A deleted tenant's alarms, usage plan and API Gateway key (its table items go with its partition)."""
    config = stores().usage.limits(tenant_id, consistent=True)
    sync_alarms(tenant_id, Limits())
    if config.usage_plan_id:
        _delete_plan(config.usage_plan_id)
    if config.usage_key_id:
        try:
            aws.client("apigateway").delete_api_key(apiKey=config.usage_key_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NotFoundException":
                raise


def _delete_plan(plan_id: str) -> None:
    """API Gateway refuses to delete a plan that still has stages or keys: detach them first."""
    gateway = aws.client("apigateway")
    try:
        plan = gateway.get_usage_plan(usagePlanId=plan_id)
        for key in gateway.get_usage_plan_keys(usagePlanId=plan_id).get("items", []):
            gateway.delete_usage_plan_key(usagePlanId=plan_id, keyId=key["id"])
        operations = [
            {"op": "remove", "path": "/apiStages", "value": f"{stage['apiId']}:{stage['stage']}"}
            for stage in plan.get("apiStages", [])
        ]
        if operations:
            gateway.update_usage_plan(usagePlanId=plan_id, patchOperations=operations)
        gateway.delete_usage_plan(usagePlanId=plan_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NotFoundException":
            raise


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


def tick(now: float | None = None) -> dict[str, int]:
    """The limits function's schedule (every minute): sweep expired reservations, refresh the spend gauges.

    Gauges go out for tenants with spend this month or a budget (so a new period brings their alarms back to
    OK), and the global gauge sums today's spend of every tenant.
    """
    moment = utc(now)
    month, dd = periods(moment)
    store = stores().usage
    tenants = stores().tenants.list()
    ids = [t.id for t in tenants]
    counters, configs = store.month_counters(ids, month), store.limits_of(ids)
    # Reservations made just before midnight on the last day of a month live in that month's counter.
    just_rolled_over = dd == "01" and moment.hour == 0 and moment.minute < 15
    last_month = periods(moment - timedelta(days=1))[0] if just_rolled_over else ""
    previous = store.month_counters(ids, last_month) if last_month else {}
    swept = reported = global_day = 0
    for tenant in tenants:
        counter = counters.get(tenant.id, {})
        swept += store.sweep(tenant.id, month, counter, moment.timestamp())
        if last_month:
            swept += store.sweep(tenant.id, last_month, previous.get(tenant.id, {}), moment.timestamp())
        day_spent = int(counter.get(f"ds_{dd}", 0))
        global_day += day_spent
        if counter or (tenant.id in configs and configs[tenant.id].effective.has_budget):
            emit_gauges(tenant.id, int(counter.get("spent", 0)), day_spent)
            reported += 1
    emit_global_gauge(global_day)
    if swept:
        logger.info("swept expired reservations", extra={"swept": swept})
    return {"tenants": len(tenants), "gauges": reported, "swept": swept, "global_day_to_date_micros": global_day}


# --- alarm notifications (the limits function) --------------------------------------------------
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
        profile = {"status": "suspended", "status_reason": hold.message, "status_since": iso(moment)}
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
    lifted = config.holds[cause]
    holds = {other: hold for other, hold in config.holds.items() if other != cause}
    profile: dict[str, Any] | None = None
    if not tenant.active and tenant.status_reason == lifted.message:  # suspended by this very limit
        if holds:
            profile = {"status_reason": next(iter(holds.values())).message}
        else:
            profile = {"status": "active", "status_reason": None, "status_since": iso(utc())}
    stores().usage.write_holds(
        tenant_id,
        holds,
        expected_version=config.version,
        profile=profile,
        profile_seen=tenant.updated_at,
        audit=_audit(tenant_id, "tenant.resume" if profile and "status" in profile else "tenant.suspend"),
    )
    return True
