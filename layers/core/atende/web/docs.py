"""The merged OpenAPI document (generated at build time by `make openapi`) and the Swagger UI page."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

OPENAPI_FILE = "openapi.json"


@cache
def openapi_document() -> dict[str, Any]:
    """The spec of every function's routes, merged: one function cannot import the others at run time."""
    return json.loads(resources.files("atende.web").joinpath(OPENAPI_FILE).read_text(encoding="utf-8"))


@cache
def swagger_html(spec_url: str) -> str:
    """Swagger UI with its assets inlined (Powertools ships them), so /docs works without a CDN."""
    assets = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
    return generate_swagger_html(
        spec=json.dumps(openapi_document()),
        swagger_js=assets.joinpath("swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=assets.joinpath("swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
        persist_authorization=True,
    ).replace(
        'ui.specActions.updateUrl(currentUrl.pathname + "?format=json");', f'ui.specActions.updateUrl("{spec_url}");'
    )
