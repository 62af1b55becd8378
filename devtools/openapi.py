"""Build the merged OpenAPI document of all functions into the layer (`make openapi`; `--check` for CI)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge

from atende.web.bodies import document_merge_patch, document_webhook_media_types
from devtools.functions import FUNCTIONS, load_function

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "layers" / "core" / "atende" / "web" / "openapi.json"


def build() -> str:
    merge = OpenAPIMerge(
        title="Atende API",
        version="1.0.0",
        description=(
            "A ChatGPT gateway for customer support. OpenAI-compatible (`/v1/chat/completions`, `/v1/moderations`) "
            "and webhook-friendly (`/v1/bots/{bot}/chat`, `/v1/moderate`). Authenticate with "
            "`Authorization: Bearer atd_…` or `x-api-key`."
        ),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},  # type: ignore[dict-item]
        security=[{"bearer": []}],
        on_conflict="error",
    )
    for name in FUNCTIONS:
        module = load_function(name, container="openapi")
        if module is not None and hasattr(module, "app"):
            schema = json.loads(module.app.get_openapi_json_schema(title="Atende API", version="1.0.0"))
            document_webhook_media_types(
                schema, getattr(module.app._request_validation_middleware, "webhook_resources", frozenset())
            )
            document_merge_patch(schema)
            merge.add_schema(schema)
    return (
        json.dumps(without_unanswered(merge.get_openapi_schema()), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    )


def without_unanswered(document: dict[str, Any]) -> dict[str, Any]:
    """The document less Powertools' 422 validation answer: Atende answers invalid requests with a 400 envelope."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    text = json.dumps(document["paths"])
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f'/{name}"' not in text:
            schemas.pop(name, None)
    return document


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed document is out of date")
    args = parser.parse_args()
    document = build()
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != document:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run `make openapi` and commit it.", file=sys.stderr)
            return 1
        print("openapi.json is up to date")
        return 0
    TARGET.write_text(document, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
