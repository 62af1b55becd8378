"""JSON Merge Patch (RFC 7386) for config documents, and the dotted paths of what a change touched."""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 section 2, as written: objects merge key by key, `null` removes a key, anything else replaces.

    A removed key falls back to the model's default when the result is validated, so `null` means "reset".
    (Fifteen lines of the RFC's own pseudo-code: smaller than a dependency, and `changed_paths` needs the same walk.)
    """
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Every leaf that differs between two JSON documents, as dotted paths (`sampling.temperature`), sorted.

    Objects are walked into; a list or a scalar that differs is named as a whole.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for name in sorted(set(before) | set(after), key=str):
            path = f"{prefix}.{name}" if prefix else str(name)
            found.extend(changed_paths(before.get(name), after.get(name), path))
        return found
    return [] if before == after else [prefix or "."]
