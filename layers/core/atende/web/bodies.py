"""Request bodies as callers send them: JSON on every route; on webhook routes also forms and JSON as text/plain."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

from atende.platform.errors import InvalidRequest, UnsupportedMediaType

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
TEXT = "text/plain"  # Make's "Raw" body and other tools that label any body as text
MERGE_PATCH = "application/merge-patch+json"  # RFC 7386's media type: JSON, accepted on PATCH
WEBHOOK_MEDIA_TYPES = (JSON, FORM, TEXT)
MAX_FORM_FIELDS = 1_000


def media_type(content_type: str | None) -> str:
    """`Application/JSON; charset=UTF-8` → `application/json`: media types are case-insensitive (RFC 9110)."""
    return (content_type or "").split(";")[0].strip().lower()


def refuse_media_type(received: str, accepted: tuple[str, ...]) -> UnsupportedMediaType | None:
    """The 415 for a body of a media type the route does not take (no Content-Type at all is taken as JSON)."""
    if not received or received in accepted:
        return None
    if accepted == (JSON,):
        message = f"Send JSON with 'Content-Type: application/json' (got '{received}')."
    else:
        message = (
            "Send JSON ('Content-Type: application/json'), a form ('application/x-www-form-urlencoded') "
            f"or JSON as 'text/plain' (got '{received}')."
        )
    return UnsupportedMediaType(message, param="Content-Type")


def form_fields(body: str) -> dict[str, Any]:
    """A form body as an object of strings; a field sent more than once becomes the list of its values.

    Values stay strings: the webhook models take numbers, booleans and JSON (`history`) from strings already.
    """
    fields: dict[str, Any] = {}
    try:
        pairs = parse_qsl(body, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError as error:
        raise InvalidRequest("The form body is not UTF-8.", param="body", code="invalid_form") from error
    except ValueError as error:
        raise InvalidRequest(
            f"The form body has more than {MAX_FORM_FIELDS} fields.", param="body", code="invalid_form"
        ) from error
    for name, value in pairs:
        if name not in fields:
            fields[name] = value
        elif isinstance(fields[name], list):
            fields[name].append(value)
        else:
            fields[name] = [fields[name], value]
    return fields


def relabel_as_json(event: dict[str, Any], received: str) -> None:
    """Rewrite a proxy event's form or text/plain body into the JSON body the route's validation reads.

    The size limit is checked on the body as sent, before this; the event is the function's own copy.
    """
    if received == FORM:
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(body).decode("utf-8")
            except UnicodeDecodeError as error:
                raise InvalidRequest("The form body is not UTF-8.", param="body", code="invalid_form") from error
        event["body"] = json.dumps(form_fields(body), ensure_ascii=False)
        event["isBase64Encoded"] = False
    for name in ("headers", "multiValueHeaders"):
        headers = event.get(name)
        if not isinstance(headers, dict):
            continue
        for key in [k for k in headers if k.lower() == "content-type"]:
            del headers[key]
        headers["Content-Type"] = JSON if name == "headers" else [JSON]


def document_merge_patch(document: dict[str, Any]) -> None:
    """State in an OpenAPI document that every PATCH also takes its JSON body as `application/merge-patch+json`."""
    for operations in document.get("paths", {}).values():
        content = ((operations.get("patch") or {}).get("requestBody") or {}).get("content") or {}
        if JSON in content:
            content[MERGE_PATCH] = {"schema": content[JSON].get("schema")}


def document_webhook_media_types(document: dict[str, Any], resources: frozenset[str]) -> None:
    """State in an OpenAPI document that the webhook operations take the same body as a form or as text/plain."""
    for path in resources:
        for operation in (document.get("paths", {}).get(path) or {}).values():
            content = (operation.get("requestBody") or {}).get("content") or {}
            if JSON not in content:
                continue
            schema = content[JSON].get("schema")
            content[FORM] = {"schema": schema}
            content[TEXT] = {"schema": {"type": "string", "description": "The same body, as JSON text."}}
