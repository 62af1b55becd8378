"""Layout rules read from the source: no import cycles in atende or devtools, few root modules, short modules."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ATENDE = ROOT / "layers" / "core" / "atende"
PACKAGES = {"atende": ATENDE, "devtools": ROOT / "devtools"}
MAX_ROOT_MODULES = 8
MAX_LINES = 400

type Graph = dict[str, set[str]]


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages (a package is its __init__.py)."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(source: str, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The package modules a module imports anywhere: top level, in functions, in `if TYPE_CHECKING:` blocks."""
    targets = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package, one level up per extra dot
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            # `from pkg import name` loads the submodule pkg.name when there is one, else reads pkg itself.
            targets.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    return (targets & modules) - {module}


def _graph(modules: dict[str, Path]) -> Graph:
    """Module -> the package modules it imports."""
    names = set(modules)
    return {
        module: _imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", names)
        for module, path in modules.items()
    }


def _cycles(graph: Graph) -> list[list[str]]:
    """One cycle (a -> ... -> a) through each strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_path_through(graph, group) for group in groups]


def _path_through(graph: Graph, group: set[str]) -> list[str]:
    """A shortest cycle from the group's first module back to itself, staying inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # unreachable for a strongly connected group


def test_the_walk_sees_imports_in_functions_and_type_checking_blocks() -> None:
    source = """
from typing import TYPE_CHECKING
from pkg import sub, helper
from . import sibling
if TYPE_CHECKING:
    from pkg.typed import Thing
def later():
    import pkg.lazy
"""
    modules = {"pkg", "pkg.sub", "pkg.sibling", "pkg.typed", "pkg.lazy", "pkg.me"}
    assert _imports(source, "pkg.me", False, modules) == {"pkg", "pkg.sub", "pkg.sibling", "pkg.typed", "pkg.lazy"}


def test_the_cycle_finder_reports_one_path_per_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": {"e"}}
    assert _cycles(graph) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_walk_covers_both_packages() -> None:
    graph = _graph(_modules())
    assert {"atende.guards.redaction", "devtools.fake_openai.wire"} <= set(graph)
    assert "devtools.fake_openai.answers" in graph["devtools.fake_openai.wire"]


def test_no_import_cycles_in_atende_or_devtools() -> None:
    cycles = _cycles(_graph(_modules()))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_atende_package_root_holds_few_modules() -> None:
    root_modules = sorted(path.name for path in ATENDE.glob("*.py") if path.name != "__init__.py")
    assert len(root_modules) <= MAX_ROOT_MODULES, f"put these in subpackages by concern: {root_modules}"


def test_no_module_is_over_400_lines() -> None:
    long = {}
    for folder in ("layers", "functions", "devtools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if ".aws-sam" in path.parts:
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                long[str(path.relative_to(ROOT))] = lines
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"
