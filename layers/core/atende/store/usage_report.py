"""The day report shards (`USAGE#yyyy-mm-dd#k`): how a turn adds to one, and how a usage read adds them up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REPORT_FIELDS = ("spent", "input_tokens", "cached_input_tokens", "output_tokens", "requests", "refused")
_SCOPES = ("bot", "model")


def report_additions(
    figures: dict[str, int], *, bot_id: str | None, model: str | None, price_version: str | None = None
) -> dict[str, Any]:
    """UpdateItem arguments adding `figures` to a day report: to its total, the bot's and the model's.

    Per-bot and per-model figures are flat `bot#{id}#{field}` / `model#{name}#{field}` attributes, so one
    ADD updates all three without reading the item first.
    """
    names: dict[str, str] = {"#ty": "type"}
    values: dict[str, Any] = {":ty": "usage"}
    adds = []
    if price_version is not None:
        values[":pv"] = {price_version}
        adds.append("price_versions :pv")
    scopes = [""] + [f"{scope}#{key}#" for scope, key in zip(_SCOPES, (bot_id, model), strict=True) if key]
    for s, scope in enumerate(scopes):
        for i, (name, value) in enumerate(figures.items()):
            names[f"#s{s}f{i}"] = f"{scope}{name}"
            values[f":v{i}"] = value  # the same figure for the total, the bot and the model
            adds.append(f"#s{s}f{i} :v{i}")
    return {
        "UpdateExpression": "SET #ty = :ty ADD " + ", ".join(adds),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


@dataclass
class UsageFigures:
    """A period's usage added up from its items: totals, and the same per day, bot and model."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REPORT_FIELDS, 0))
    by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    by_bot: dict[str, dict[str, int]] = field(default_factory=dict)
    by_model: dict[str, dict[str, int]] = field(default_factory=dict)


def add_up(items: list[dict[str, Any]]) -> UsageFigures:
    """The figures of a month's or a day's report shards, added up as a usage read answers them."""
    figures = UsageFigures()
    for item in items:
        day_name = str(item["SK"]).removeprefix("USAGE#").split("#")[0]
        if len(day_name) != 10:  # not a day report
            continue
        day = figures.by_day.setdefault(day_name, dict.fromkeys(REPORT_FIELDS, 0))
        for name in REPORT_FIELDS:
            day[name] += int(item.get(name, 0))
            figures.totals[name] += int(item.get(name, 0))
        for attr, value in item.items():
            scope, _, rest = str(attr).partition("#")
            if scope not in _SCOPES or "#" not in rest:
                continue
            key, _, name = rest.rpartition("#")
            if name in REPORT_FIELDS:
                breakdown = figures.by_bot if scope == "bot" else figures.by_model
                breakdown.setdefault(key, dict.fromkeys(REPORT_FIELDS, 0))[name] += int(value)
    return figures
