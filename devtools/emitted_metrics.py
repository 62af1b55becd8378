"""The EMF records the code emits, read from the source (no import): each one's dimension sets, metrics, properties."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "layers" / "core" / "atende", ROOT / "functions")
SINK = ROOT / "layers" / "core" / "atende" / "platform" / "metrics.py"  # the one place Powertools' EMF is called
# `atende.platform.metrics.record(*dimension_sets, counts=, milliseconds=, metadata=)`: the keywords naming metrics.
METRIC_KEYWORDS = {"counts", "milliseconds"}
POWERTOOLS_CALLS = {"add_metric", "add_dimension", "add_dimensions", "add_metadata", "EphemeralMetrics", "Metrics"}

type Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Module


@dataclass(frozen=True)
class EmittedRecord:
    """One `record(...)` call: where it is, its dimension sets, the metrics and the properties it writes."""

    where: str  # path (from the repository's root) and line
    dimension_sets: tuple[frozenset[str], ...]
    metrics: frozenset[str]
    properties: frozenset[str]  # `metadata` keys: top-level keys of the line, never dimensions

    @property
    def fields(self) -> frozenset[str]:
        """The line's top-level JSON keys besides `_aws`: what a Logs Insights query can name."""
        return self.metrics | self.properties | frozenset().union(*self.dimension_sets)


def _text(node: ast.expr | None) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value


def _assignments(name: str, scope: Scope) -> Iterator[tuple[ast.expr, ast.expr]]:
    """(target, value) of every `name = ...` and `name[key] = ...` in the scope."""
    for statement in ast.walk(scope):
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name | ast.Subscript):
                    holder = target.value if isinstance(target, ast.Subscript) else target
                    if isinstance(holder, ast.Name) and holder.id == name:
                        yield target, statement.value


def _keys(node: ast.expr | None, scope: Scope) -> Iterator[str]:
    """The string keys a dict argument can hold: a dict literal, a name bound to one in the same function (keys
    added later included), a dict comprehension over literal (name, value) pairs, and `a or b`, `a if c else b`."""
    match node:
        case ast.Dict(keys=keys):
            for key in keys:
                yield from _text(key)
        case ast.DictComp(generators=[ast.comprehension(iter=source), *_]):
            literals = [value for _, value in _assignments(source.id, scope)] if isinstance(source, ast.Name) else []
            for literal in literals or [source]:
                for pair in literal.elts if isinstance(literal, ast.Tuple | ast.List) else []:
                    if isinstance(pair, ast.Tuple | ast.List) and pair.elts:
                        yield from _text(pair.elts[0])
        case ast.BoolOp(values=values):
            for value in values:
                yield from _keys(value, scope)
        case ast.IfExp(body=body, orelse=orelse):
            yield from _keys(body, scope)
            yield from _keys(orelse, scope)
        case ast.Name(id=name):
            for target, value in _assignments(name, scope):
                yield from _text(target.slice) if isinstance(target, ast.Subscript) else _keys(value, scope)


def _innermost_scopes(tree: ast.Module) -> dict[ast.Call, Scope]:
    """Each call of the module with the function that holds it (the module for top-level calls)."""
    owner: dict[ast.Call, Scope] = {}
    scopes: list[Scope] = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))]
    for scope in scopes:  # outer scopes first: an inner function's calls end up with the inner one
        for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
            owner[call] = scope
    return owner


def _sink_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """How the module can call the sink: names bound to `record` itself, and to the `metrics` module."""
    functions, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if node.module == "atende.platform.metrics" and alias.name == "record":
                    functions.add(alias.asname or alias.name)
                if node.module == "atende.platform" and alias.name == "metrics":
                    modules.add(alias.asname or alias.name)
    return functions, modules


def _calls_sink(call: ast.Call, functions: set[str], modules: set[str]) -> bool:
    match call.func:
        case ast.Name(id=name):
            return name in functions
        case ast.Attribute(value=ast.Name(id=module), attr="record"):
            return module in modules
    return False


def _record(call: ast.Call, scope: Scope, where: str) -> EmittedRecord:
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    dimension_sets = tuple(frozenset(_keys(argument, scope)) for argument in call.args)
    metrics = frozenset(name for key in METRIC_KEYWORDS for name in _keys(keywords.get(key), scope))
    if not dimension_sets or not all(dimension_sets) or not metrics:
        raise ValueError(f"{where}: cannot read this record's dimension sets and metric names from the source")
    return EmittedRecord(where, dimension_sets, metrics, frozenset(_keys(keywords.get("metadata"), scope)))


def emitted_records(sources: tuple[Path, ...] = SOURCES) -> list[EmittedRecord]:
    """Every call of `atende.platform.metrics.record` in the sources.

    Raises when a record's dimension sets or metric names are not literal enough to read, and when Powertools'
    EMF is called anywhere but the sink: either way the list would not be every record the code emits.
    """
    found: list[EmittedRecord] = []
    for folder in sources:
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            functions, modules = _sink_names(tree)
            for call, scope in _innermost_scopes(tree).items():
                where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{call.lineno}"
                name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                if name in POWERTOOLS_CALLS and path != SINK:
                    raise ValueError(f"{where}: EMF written outside atende.platform.metrics.record")
                if _calls_sink(call, functions, modules):
                    found.append(_record(call, scope, where))
    return found


def series(records: list[EmittedRecord]) -> set[tuple[str, frozenset[str]]]:
    """(metric name, dimension names) pairs: a CloudWatch metric each, per value of its dimensions."""
    return {
        (metric, dimensions) for record in records for dimensions in record.dimension_sets for metric in record.metrics
    }


def per_tenant_series(records: list[EmittedRecord]) -> set[tuple[str, frozenset[str]]]:
    """The series with a `Tenant` dimension: each tenant adds one metric per pair."""
    return {pair for pair in series(records) if "Tenant" in pair[1]}


def deployment_series(records: list[EmittedRecord]) -> set[tuple[str, frozenset[str]]]:
    """The series without `Tenant`: a fixed number per deployment, whatever the number of tenants."""
    return series(records) - per_tenant_series(records)
