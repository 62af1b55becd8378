"""Limit and usage models: what tenant admins and operators set, the effective limits, usage reports, alarm messages."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer

from atende.billing.pricing import ModelPrice, micros_to_usd, usd_to_micros
from atende.models.common import RequestModel, ResponseModel

# Money arrives as a JSON number or a decimal string and is stored as integer micro-dollars; answers carry
# it as a JSON number with at most six decimals (a float only on the wire, where its text is exact).
UsdIn = Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=6)]
UsdOut = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]

Cause = Literal["monthly_budget", "daily_budget", "global_daily_budget"]


class LimitsSpec(RequestModel):
    """Limits of one tenant; omitted or null means no limit."""

    monthly_budget_usd: UsdIn | None = Field(default=None, description="Spend per calendar month (UTC), USD.")
    daily_budget_usd: UsdIn | None = Field(default=None, description="Spend per day (UTC), USD.")
    soft_limit_percent: int | None = Field(
        default=None, ge=1, le=100, description="Notify (no refusal) when spend reaches this % of a budget."
    )
    monthly_token_quota: int | None = Field(default=None, ge=0, le=10**13, description="Input + output tokens.")
    rate_limit_rps: int | None = Field(
        default=None, ge=1, le=10_000, description="Requests per second (API Gateway usage plan, best-effort)."
    )
    rate_limit_burst: int | None = Field(default=None, ge=1, le=5_000, description="Burst (usage plan, best-effort).")
    monthly_request_quota: int | None = Field(default=None, ge=0, le=10**10, description="Chat turns per month.")


class PriceOverride(RequestModel):
    """A negotiated or missing price, USD per million tokens."""

    input_usd_per_million: UsdIn
    cached_input_usd_per_million: UsdIn | None = Field(default=None, description="Defaults to the input price.")
    output_usd_per_million: UsdIn

    def price(self) -> ModelPrice:
        cached = self.cached_input_usd_per_million
        return ModelPrice(
            usd_to_micros(self.input_usd_per_million),
            usd_to_micros(self.input_usd_per_million if cached is None else cached),
            usd_to_micros(self.output_usd_per_million),
        )


class OperatorLimitsSpec(LimitsSpec):
    """The operator's caps for a tenant (the effective limit is the lower of these and the tenant's own)."""

    price_overrides: dict[Annotated[str, Field(min_length=1, max_length=100)], PriceOverride] = Field(
        default_factory=dict, max_length=100, description="Model name -> price; wins over the built-in table."
    )


# The limits held in micro-dollars, and the USD field each is set and shown as.
_USD_FIELDS = {"monthly_budget_micros": "monthly_budget_usd", "daily_budget_micros": "daily_budget_usd"}


@dataclass(frozen=True)
class Limits:
    """Limits in integer units (micro-dollars, tokens, requests); None means no limit."""

    monthly_budget_micros: int | None = None
    daily_budget_micros: int | None = None
    soft_limit_percent: int | None = None
    monthly_token_quota: int | None = None
    rate_limit_rps: int | None = None
    rate_limit_burst: int | None = None
    monthly_request_quota: int | None = None

    @classmethod
    def from_spec(cls, spec: LimitsSpec | None) -> Limits:
        """USD amounts become integer micro-dollars; every other limit keeps its name."""
        if spec is None:
            return cls()
        values = {}
        for f in fields(cls):
            usd = _USD_FIELDS.get(f.name)
            value = getattr(spec, usd or f.name)
            values[f.name] = usd_to_micros(value) if usd and value is not None else value
        return cls(**values)

    def lower(self, other: Limits) -> Limits:
        """Field by field, the stricter of two sets of limits (None never wins over a number)."""
        values = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = theirs if mine is None else mine if theirs is None else min(mine, theirs)
        return Limits(**values)

    @property
    def has_budget(self) -> bool:
        return self.monthly_budget_micros is not None or self.daily_budget_micros is not None

    @property
    def has_rate_limits(self) -> bool:
        return any(v is not None for v in (self.rate_limit_rps, self.rate_limit_burst, self.monthly_request_quota))

    def view(self) -> LimitsValues:
        values: dict[str, Any] = {}
        for f in fields(self):
            value, usd = getattr(self, f.name), _USD_FIELDS.get(f.name)
            values[usd or f.name] = micros_to_usd(value) if usd and value is not None else value
        return LimitsValues.model_validate(values)


@dataclass(frozen=True)
class Hold:
    """Why the limits function suspended a tenant: one entry per alarm in ALARM."""

    cause: str
    message: str
    code: str
    param: str
    resets_at: str
    since: str

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class TenantLimits:
    """Everything stored in a tenant's LIMITS item."""

    tenant: LimitsSpec
    operator: OperatorLimitsSpec
    holds: dict[str, Hold]
    usage_plan_id: str | None = None
    usage_key_id: str | None = None
    version: int = 0
    updated_at: str | None = None

    @property
    def effective(self) -> Limits:
        return Limits.from_spec(self.tenant).lower(Limits.from_spec(self.operator))

    @property
    def prices(self) -> dict[str, ModelPrice]:
        return {model: override.price() for model, override in self.operator.price_overrides.items()}


class LimitsValues(ResponseModel):
    monthly_budget_usd: UsdOut | None = None
    daily_budget_usd: UsdOut | None = None
    soft_limit_percent: int | None = None
    monthly_token_quota: int | None = None
    rate_limit_rps: int | None = None
    rate_limit_burst: int | None = None
    monthly_request_quota: int | None = None


class UsagePlanInfo(ResponseModel):
    id: str
    enforced: bool = Field(
        description="False while the API's methods do not require API keys: API Gateway then applies no usage plan."
    )


class SoftLimitState(ResponseModel):
    """The budget closest to its soft limit (the monthly one on a tie)."""

    reached: bool = Field(description="Spend is at or past the soft limit of this budget.")
    budget: Literal["monthly", "daily"]
    percent: int = Field(description="The tenant's soft_limit_percent.")
    spend_usd: UsdOut = Field(description="Billed in the budget's current period (calls in progress not counted).")
    limit_usd: UsdOut = Field(description="The soft limit: percent of the budget, USD.")
    budget_usd: UsdOut


class LimitsView(ResponseModel):
    object: Literal["limits"] = "limits"
    tenant_id: str
    limits: LimitsValues = Field(description="What the tenant admin set (PUT /v1/limits).")
    operator_caps: LimitsValues = Field(description="What the operator set (PUT /v1/admin/tenants/{tenant}/limits).")
    effective: LimitsValues = Field(description="The lower of the two, field by field: what is enforced.")
    price_overrides: dict[str, dict[str, UsdOut | None]] = Field(default_factory=dict)
    alarms: list[str] = Field(default_factory=list)
    usage_plan: UsagePlanInfo | None = None
    suspended_by: list[str] = Field(default_factory=list, description="Limits whose alarm suspended the tenant.")
    soft_limit: SoftLimitState | None = Field(default=None, description="Null without a soft limit and a budget.")
    month_resets_at: str
    day_resets_at: str
    updated_at: str | None = None


class UsageTotals(ResponseModel):
    spend_usd: UsdOut = Decimal(0)
    spend_micros: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    refused: int = 0


class UsageReport(UsageTotals):
    object: Literal["usage"] = "usage"
    tenant_id: str
    period: str
    price_table_version: str
    reserved_micros: int = Field(default=0, description="Held by calls still running (month periods only).")
    soft_limit: SoftLimitState | None = Field(
        default=None, description="The soft limit now (whatever `period` asked for); null without one."
    )
    by_day: dict[str, UsageTotals] = Field(default_factory=dict)
    by_bot: dict[str, UsageTotals] = Field(default_factory=dict)
    by_model: dict[str, UsageTotals] = Field(default_factory=dict)


class AlarmNotification(ResponseModel):
    """The JSON CloudWatch puts in an alarm's SNS message (the fields Atende reads)."""

    AlarmName: str
    NewStateValue: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    OldStateValue: str | None = None
    NewStateReason: str = ""
    StateChangeTime: str | None = None
    Trigger: dict[str, Any] = Field(default_factory=dict)

    def dimension(self, name: str) -> str | None:
        for dimension in self.Trigger.get("Dimensions") or []:
            if str(dimension.get("name") or dimension.get("Name")) == name:
                return str(dimension.get("value") or dimension.get("Value"))
        return None
