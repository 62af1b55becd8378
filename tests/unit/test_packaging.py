"""Packaging: the pins that must agree across pyproject.toml, the layer's requirements.txt and the tools."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LAYER_REQUIREMENTS = ROOT / "layers" / "core" / "requirements.txt"


def _normalized(requirement: str) -> str:
    """`Foo_Bar[x]==1` -> `foo-bar[x]==1`: package names compare case- and separator-insensitively."""
    match = re.fullmatch(r"([A-Za-z0-9._-]+)(.*)", requirement.strip())
    assert match, requirement
    name, rest = match.groups()
    return re.sub(r"[-_.]+", "-", name).lower() + rest.replace(" ", "")


def _requirements(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {_normalized(line) for line in lines if line.strip() and not line.lstrip().startswith("#")}


def _project_dependencies() -> set[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return {_normalized(dependency) for dependency in project["dependencies"]}


def test_layer_requirements_match_the_project_dependencies() -> None:
    layer, project = _requirements(LAYER_REQUIREMENTS), _project_dependencies()
    assert layer == project, (
        f"only in layers/core/requirements.txt: {sorted(layer - project)}; "
        f"only in pyproject.toml: {sorted(project - layer)}"
    )


def test_every_runtime_dependency_is_pinned_exactly() -> None:
    for requirement in _project_dependencies():
        assert re.fullmatch(r"[a-z0-9-]+(\[[a-z0-9,-]+\])?==[0-9][0-9A-Za-z.]*", requirement), requirement


def test_cfn_lint_is_the_same_in_the_dev_extras_and_the_tools() -> None:
    dev = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["dev"]
    pins = {_normalized(line) for line in dev} | _requirements(ROOT / "requirements-tools.txt")
    cfn_lint = {pin for pin in pins if pin.startswith("cfn-lint==")}
    assert len(cfn_lint) == 1, cfn_lint
