"""The cost section of `make bench`: the bot turn's measured counts, priced at template.yaml's function sizes and
at the metrics, alarms and tracing the code and the template deploy."""

from __future__ import annotations

import os
import pickle
import statistics
from pathlib import Path

from atende.billing.alarms import BUDGETS
from bench import cost_model
from bench.peers import Comparison
from devtools.aws_local import TEMPLATE, function_name
from devtools.emitted_metrics import deployment_series, emitted_records, per_tenant_series
from devtools.template import load_template

PRICED_PATH = "atende bot"  # the stated workload: a bot turn with history and a budget
STATED_TURN = cost_model.Turn()


def function_sizes() -> dict[str, tuple[int, str]]:
    """Each function's (memory MB, architecture) as template.yaml deploys it."""
    doc = load_template(TEMPLATE)
    defaults = doc["Globals"]["Function"]
    sizes = {}
    for resource in doc["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        memory = int(props.get("MemorySize", defaults["MemorySize"]))
        sizes[function_name(resource)] = (memory, str((props.get("Architectures") or defaults["Architectures"])[0]))
    return sizes


def deployment() -> cost_model.Deployment:
    """The custom metrics the code's EMF records make (read from the source), a tenant's alarms with every budget
    and a soft limit (a hard and a soft one per budget), and template.yaml's default Tracing."""
    records = emitted_records()
    return cost_model.Deployment(
        metrics_per_tenant=len(per_tenant_series(records)),
        metrics_deployment_wide=len(deployment_series(records)),
        alarms_per_tenant=2 * len(BUDGETS),
        tracing=str(load_template(TEMPLATE)["Parameters"]["Tracing"]["Default"]),
    )


def measured(run: Comparison, turn: cost_model.Turn) -> cost_model.Measured:
    """The priced path's functions: invocations per turn, median own seconds, DynamoDB round trips each."""
    record, sizes, functions = run.stats[PRICED_PATH], function_sizes(), []
    for name, invocations in sorted(record.invocations.items()):
        local = [s - a for s, a in zip(record.function_seconds[name], record.function_aws_seconds[name], strict=True)]
        own = statistics.median(local)
        waits = name == "chat"
        if waits:  # the local upstream's answer is inside the chat invocation: the provider's latency replaces it
            own = max(0.0, own - run.upstream_p50)
        trips = sum(n for op, n in record.function_calls.get(name, {}).items() if op.startswith("dynamodb."))
        memory, architecture = sizes[name]
        functions.append(
            cost_model.FunctionRun(
                name,
                memory,
                architecture,
                invocations=record.per_turn(invocations),
                own_seconds=own,
                dynamodb_round_trips=trips / invocations,
                waits_on_provider=waits,
            )
        )
    return cost_model.Measured(
        tuple(functions),
        read_units=record.per_turn(record.read_units),
        write_units=record.per_turn(record.write_units),
        secrets_calls=record.round_trips("secretsmanager"),
    )


def section(run: Comparison, turn: cost_model.Turn = STATED_TURN) -> list[str]:
    """The cost table, each function's measured size against its memory, and the Managed Instances crossover."""
    model = measured(run, turn)
    lines = [
        f"Counts from the `{PRICED_PATH}` rounds above; memory, architecture and the default `Tracing` from "
        "template.yaml; custom metrics from the code's EMF records (`devtools/emitted_metrics.py`); own code = the "
        "median invocation minus its AWS calls (and, for chat, minus the local upstream's answer), as measured on "
        "this machine's full core, then slowed by the Lambda CPU share of the function's memory.",
        "",
        *cost_model.table(model, turn, deployment()),
        "",
        "| function | memory MB | invocations per turn | own code ms (local) | DynamoDB round trips | billed ms "
        "on AWS | peak RSS of its local worker MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for fn in model.functions:
        lines.append(
            f"| {fn.name} | {fn.memory_mb} | {fn.invocations:g} | {fn.own_seconds * 1000:.1f} | "
            f"{fn.dynamodb_round_trips:g} | {fn.billed_seconds(turn) * 1000:.0f} | "
            f"{run.worker_peak_mib.get(fn.name, 0):.0f} |"
        )
    chat = next((fn for fn in model.functions if fn.name == "chat"), None)
    if chat is not None:
        rate = cost_model.managed_instances_crossover(chat, turn)
        lines += [
            "",
            f"Lambda Managed Instances for the chat function: three m7g.large instances (the minimum, one "
            f"per Availability Zone) plus the 15 % fee cost as much as the chat function's on-demand duration at "
            f"**{rate:.1f} turns/s** sustained ({rate * cost_model.SECONDS_PER_MONTH / 1e6:.1f} million turns a "
            "month); above that they are cheaper, as long as the instances' memory holds the concurrent turns "
            f"(each turn holds one Python process for {chat.billed_seconds(turn):.1f} s).",
        ]
    return lines


def main() -> int:
    """`python -m bench.aws_cost`: only this part of `make bench` (the LiteLLM comparison and the cost model)."""
    from bench import peers

    saved = os.environ.get("BENCH_COMPARISON_FILE")  # keep what was measured, to render it again without a rerun
    if saved and Path(saved).exists():
        run = pickle.loads(Path(saved).read_bytes())
    else:
        run = peers.compare()
        if saved:
            Path(saved).write_bytes(pickle.dumps(run))
    print("\n".join(["## Atende beside LiteLLM's proxy", "", *peers.tables(run), "", "## What a turn costs on AWS"]))
    print("\n".join(["", *section(run)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
