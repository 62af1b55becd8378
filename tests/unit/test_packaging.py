"""Packaging: the pins that must agree across pyproject.toml, the layer's requirements.txt and the tools."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
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


def test_the_layer_ships_every_module_of_the_package_as_bytecode(tmp_path: Path) -> None:
    """The layer is read-only on Lambda: a module without its .pyc is compiled again on every cold start."""
    template = (ROOT / "template.yaml").read_text(encoding="utf-8")
    layer = template[template.index("\n  CoreLayer:") :]
    metadata = re.split(r"\n  (?=\S)", layer[layer.index("Metadata:") :])[0]  # up to the next resource
    assert re.search(r"BuildMethod: makefile\b", metadata), metadata
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(LAYER_REQUIREMENTS.parent),
            "package",
            "bytecode",
            f"ARTIFACTS_DIR={tmp_path}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        capture_output=True,
    )
    package = tmp_path / "python" / "atende"
    sources = sorted(package.rglob("*.py"))
    assert sources
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.is_file(), f"{source.relative_to(tmp_path)} has no bytecode"
        flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{compiled.name}: not unchecked-hash bytecode (flags {flags:#b})"
