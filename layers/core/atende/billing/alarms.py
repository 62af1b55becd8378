"""Each tenant's CloudWatch alarms on its spend gauges: their names, definitions, and keeping them in step."""

from __future__ import annotations

from typing import Any

from atende.models.limits import Limits
from atende.platform import aws
from atende.platform.observability import METRICS_NAMESPACE
from atende.platform.settings import get_settings

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
