"""Read template.yaml as data with cfn-lint's own loader: `!Ref X` becomes {"Ref": "X"}, and so on."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a CloudFormation / SAM template file; mappings and strings come back as dict / str subclasses."""
    # Imported here: cfn-lint pulls in sympy and networkx (about a second), paid only by what reads a template.
    from cfnlint.decode import cfn_yaml

    document = cfn_yaml.load(str(path))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a CloudFormation template (top level is not a mapping)")
    return document
