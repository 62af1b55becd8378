"""What a chat turn costs on AWS, per million turns, from measured counts and a dated table of list prices.

Pure arithmetic (no AWS, no sockets): `make bench` feeds it what the run counted and what the code and template
deploy; tests check the sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from atende.billing.pricing import PRICES, micros_to_usd

MILLION = 1_000_000
SECONDS_PER_MONTH = 30 * 24 * 3600
FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB; CPU share scales with memory below that


@dataclass(frozen=True)
class AwsPrices:
    """us-east-1 list prices. As published on the date below; check before relying on them."""

    published: str = "2025-06-01"
    api_gateway_rest_per_million: float = 3.50  # first 333 million requests a month
    lambda_requests_per_million: float = 0.20
    lambda_gb_second: dict[str, float] = field(
        default_factory=lambda: {"arm64": 0.0000133334, "x86_64": 0.0000166667}  # first 6 billion GB-s a month
    )
    dynamodb_read_per_million: float = 0.125  # on-demand read request units (since the November 2024 cut)
    dynamodb_write_per_million: float = 0.625  # on-demand write request units
    cloudwatch_metric_month: float = 0.30  # custom metric (first 10,000), EMF-extracted ones alike
    cloudwatch_alarm_month: float = 0.10  # standard resolution alarm
    cloudwatch_logs_ingest_gb: float = 0.50
    xray_trace_per_million: float = 5.00  # traces recorded
    secrets_calls_per_10k: float = 0.05
    secret_month: float = 0.40
    # Lambda Managed Instances: the EC2 instance's on-demand price plus a 15 % management fee; requests as above.
    managed_instance_hour: float = 0.0816  # m7g.large (2 vCPU, 8 GiB, Graviton), the smallest sensible instance
    managed_instance_fee: float = 0.15


@dataclass(frozen=True)
class Turn:
    """The stated turn the model prices: sizes, the provider's latency, and the tenants and turns a month."""

    prompt_tokens: int = 1_500  # system (rules, knowledge base, prompts) + trimmed history + the new message
    completion_tokens: int = 150
    provider_seconds: float = 2.0  # a non-streamed gpt-4o-mini answer of that size
    dynamodb_seconds: float = 0.006  # one DynamoDB round trip from Lambda in the same region
    log_bytes_per_invocation: int = 1_200  # START/END/REPORT lines plus the structured log lines
    emf_bytes_per_turn: int = 1_500  # the turn's EMF record (metrics and properties) in the chat function's log
    turns_per_month: int = 1_000_000
    tenants: int = 10  # 100,000 turns per tenant a month: a busy support line (~3,300 turns a day)


@dataclass(frozen=True)
class Deployment:
    """What the code and template.yaml deploy, read from them (bench/aws_cost.py), not assumed: no defaults."""

    metrics_per_tenant: int  # (metric, dimension set) pairs with a Tenant dimension: a custom metric each per tenant
    metrics_deployment_wide: int  # the pairs without (dimension Stage only): a custom metric each, for all tenants
    alarms_per_tenant: int  # a tenant with every budget and a soft limit: a hard and a soft alarm per budget
    tracing: str  # template.yaml's default `Tracing`: PassThrough (no traces) or Active (every turn, at low rates)


@dataclass(frozen=True)
class FunctionRun:
    """One function as measured per turn: invocations, its own code's seconds, its AWS round trips."""

    name: str
    memory_mb: int
    architecture: str = "arm64"
    invocations: float = 1.0
    own_seconds: float = 0.0  # measured locally on a full core, without the AWS and provider waits
    dynamodb_round_trips: float = 0.0  # per invocation
    waits_on_provider: bool = False

    def billed_seconds(self, turn: Turn) -> float:
        """One invocation on AWS: own code slowed by the CPU share of its memory, plus its waits, to the ms."""
        cpu = self.own_seconds * max(1.0, FULL_VCPU_MB / self.memory_mb)
        waits = self.dynamodb_round_trips * turn.dynamodb_seconds + (
            turn.provider_seconds if self.waits_on_provider else 0
        )
        return math.ceil((cpu + waits) * 1000) / 1000


@dataclass(frozen=True)
class Measured:
    """What the benchmark counted per turn."""

    functions: tuple[FunctionRun, ...]
    read_units: float
    write_units: float
    secrets_calls: float = 0.0


@dataclass(frozen=True)
class Line:
    component: str
    usd_per_million_turns: float
    basis: str
    monthly: Literal["", "tenant", "deployment"] = ""  # a monthly charge, spread over the stated turns a month


def aws_lines(measured: Measured, turn: Turn, deployment: Deployment, prices: AwsPrices = AwsPrices()) -> list[Line]:
    """Every AWS component, in USD per million turns."""
    lines = [Line("API Gateway REST requests", prices.api_gateway_rest_per_million, "1 request per turn")]
    for fn in measured.functions:
        seconds = fn.billed_seconds(turn)
        lines.append(
            Line(
                f"Lambda {fn.name}: requests",
                fn.invocations * prices.lambda_requests_per_million,
                f"{fn.invocations:g} invocation(s) per turn",
            )
        )
        gb_seconds = fn.invocations * seconds * fn.memory_mb / 1024
        lines.append(
            Line(
                f"Lambda {fn.name}: duration",
                gb_seconds * MILLION * prices.lambda_gb_second[fn.architecture],
                f"{fn.memory_mb} MB {fn.architecture} × {seconds * 1000:.0f} ms billed",
            )
        )
    lines += [
        Line(
            "DynamoDB reads (on-demand)",
            measured.read_units * prices.dynamodb_read_per_million,
            f"{measured.read_units:g} read units per turn",
        ),
        Line(
            "DynamoDB writes (on-demand)",
            measured.write_units * prices.dynamodb_write_per_million,
            f"{measured.write_units:g} write units per turn",
        ),
    ]
    invocations = sum(fn.invocations for fn in measured.functions)
    log_bytes = invocations * turn.log_bytes_per_invocation + turn.emf_bytes_per_turn
    lines.append(
        Line(
            "CloudWatch Logs ingestion (incl. EMF)",
            log_bytes * MILLION / 1e9 * prices.cloudwatch_logs_ingest_gb,
            f"{log_bytes / 1000:.1f} KB per turn",
        )
    )
    per_turn = MILLION / turn.turns_per_month  # a monthly charge, shared by the month's turns
    lines.append(
        Line(
            "CloudWatch metrics per tenant",
            turn.tenants * deployment.metrics_per_tenant * prices.cloudwatch_metric_month * per_turn,
            f"{turn.tenants} tenants × {deployment.metrics_per_tenant} metrics with a Tenant dimension, "
            f"{turn.turns_per_month:,} turns a month",
            monthly="tenant",
        )
    )
    lines.append(
        Line(
            "CloudWatch metrics, deployment-wide",
            deployment.metrics_deployment_wide * prices.cloudwatch_metric_month * per_turn,
            f"{deployment.metrics_deployment_wide} metrics with dimension Stage only, whatever the number of tenants",
            monthly="deployment",
        )
    )
    lines.append(
        Line(
            "CloudWatch alarms per tenant",
            turn.tenants * deployment.alarms_per_tenant * prices.cloudwatch_alarm_month * per_turn,
            f"{turn.tenants} tenants × {deployment.alarms_per_tenant} alarms",
            monthly="tenant",
        )
    )
    lines.append(xray_line(deployment.tracing, prices))
    lines.append(
        Line(
            "Secrets Manager calls",
            measured.secrets_calls * MILLION / 10_000 * prices.secrets_calls_per_10k,
            f"{measured.secrets_calls:g} calls per turn",
        )
    )
    lines.append(
        Line(
            "Secrets Manager secrets",
            turn.tenants * prices.secret_month * per_turn,
            f"one provider credential per tenant, {turn.tenants} tenants",
            monthly="tenant",
        )
    )
    return lines


def xray_line(tracing: str, prices: AwsPrices = AwsPrices()) -> Line:
    """X-Ray at the template's default Tracing: nothing recorded with PassThrough, every turn with Active (the
    default sampling rule keeps 1 request a second and 5 % of the rest: at these rates, about all of them)."""
    every_turn = prices.xray_trace_per_million
    if tracing == "Active":
        return Line("X-Ray traces", every_turn, "Tracing=Active (default): every turn traced")
    return Line(
        "X-Ray traces", 0.0, f"Tracing={tracing} (default); Active: +{every_turn:.2f} USD per million turns at 100 %"
    )


def token_cost_per_million_turns(model: str, turn: Turn) -> float:
    """The provider's charge for the turn's tokens (no cached input), from Atende's own price table."""
    price = PRICES[model]  # micro-dollars per million tokens
    micros_per_turn = (turn.prompt_tokens * price.input + turn.completion_tokens * price.output) / MILLION
    return float(micros_to_usd(round(micros_per_turn * MILLION)))


def managed_instances_crossover(
    chat: FunctionRun, turn: Turn, prices: AwsPrices = AwsPrices(), instances: int = 3
) -> float:
    """Turns/s at which the chat function's on-demand duration costs as much as `instances` managed instances
    (Lambda Managed Instances keep at least three, one per Availability Zone; requests cost the same on both)."""
    per_turn = chat.billed_seconds(turn) * chat.memory_mb / 1024 * prices.lambda_gb_second[chat.architecture]
    per_second = instances * prices.managed_instance_hour * (1 + prices.managed_instance_fee) / 3600
    return per_second / per_turn


def monthly_usd(lines: list[Line], turn: Turn, kind: Literal["tenant", "deployment"]) -> float:
    """What the monthly lines of `kind` charge a month: per tenant, or for the whole deployment."""
    month = sum(line.usd_per_million_turns for line in lines if line.monthly == kind) * turn.turns_per_month / MILLION
    return month / max(1, turn.tenants) if kind == "tenant" else month


def table(
    measured: Measured, turn: Turn, deployment: Deployment, prices: AwsPrices = AwsPrices(), target: float = 0.10
) -> list[str]:
    """The cost model as Markdown: AWS components, the total, the token cost beside it, the target."""
    lines = aws_lines(measured, turn, deployment, prices)
    total = sum(line.usd_per_million_turns for line in lines)
    per_turn = sum(line.usd_per_million_turns for line in lines if not line.monthly)
    mini = token_cost_per_million_turns("gpt-4o-mini", turn)
    tenant_month, deployment_month = monthly_usd(lines, turn, "tenant"), monthly_usd(lines, turn, "deployment")
    out = [
        f"Per million turns, us-east-1 list prices as published on {prices.published}; check before relying on "
        f"them. The turn: {turn.prompt_tokens:,} prompt and {turn.completion_tokens:,} completion tokens, the "
        f"provider answering in {turn.provider_seconds:g} s, {turn.dynamodb_seconds * 1000:g} ms per DynamoDB round "
        f"trip; {turn.tenants} tenants and {turn.turns_per_month:,} turns a month share the monthly charges.",
        "",
        "| component | USD per million turns | basis |",
        "|---|---|---|",
    ]
    out += [
        f"| {line.component}{' (monthly)' if line.monthly else ''} | {line.usd_per_million_turns:.2f} | {line.basis} |"
        for line in lines
    ]
    out.append(
        f"| AWS per turn, without the monthly charges | {per_turn:.2f} | = {per_turn / mini:.1%} of gpt-4o-mini |"
    )
    out.append(
        f"| **AWS total** | **{total:.2f}** | monthly charges: {tenant_month:.2f} USD per tenant-month, "
        f"{deployment_month:.2f} USD per deployment-month |"
    )
    for model in ("gpt-4o-mini", "gpt-4.1-mini"):
        tokens = token_cost_per_million_turns(model, turn)
        out.append(f"| tokens on {model} | {tokens:.2f} | AWS = {total / tokens:.1%} of it |")
    share = total / mini
    verdict = "met" if share <= target else f"**missed** by {(share - target) * 100:.1f} points"
    out += ["", f"Target: AWS ≤ {target:.0%} of the gpt-4o-mini token cost: {share:.1%}, {verdict}."]
    return out
