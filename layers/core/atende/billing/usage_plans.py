"""Each tenant's API Gateway usage plan and key (rate limits and the monthly request quota, best-effort)."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from atende.billing.alarms import sync_alarms
from atende.models.limits import Limits, TenantLimits
from atende.platform import aws
from atende.platform.settings import get_settings
from atende.store import stores


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
