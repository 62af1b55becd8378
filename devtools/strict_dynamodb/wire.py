"""DynamoDB's JSON 1.0 wire format as the strict layer needs it: what a request touches, errors, dropped answers."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from devtools.strict_dynamodb.store import Key, canonical, key_of

TARGET_PREFIX = "DynamoDB_20120810."
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
CONTENT_TYPE = "application/x-amz-json-1.0"
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
# A hot key on an on-demand table: DynamoDB answers ProvisionedThroughputExceededException with this message (and
# ThrottlingReasons); ThrottlingException is for control-plane rates. botocore retries both as throttling errors
# (botocore/data/_retry.json "general" policies; retries/standard.py), so the SDK backs off as it would on AWS.
HOT_KEY_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table "
    "or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"
)
CONFLICT_MESSAGE = "Transaction is ongoing for the item"

Response = tuple[str, list[tuple[str, str]], bytes]


@dataclass
class Request:
    """One parsed DynamoDB call: its action, body, region and the item keys it reads or writes, in order."""

    operation: str
    body: dict[str, Any]
    raw: bytes
    region: str
    tables: list[str] = field(default_factory=list)
    keys: list[Key | None] = field(default_factory=list)  # per TransactItems entry; None where no key is given
    items: list[dict[str, Any] | None] = field(default_factory=list)  # the full item of each Put, else None
    kinds: list[str] = field(default_factory=list)  # per key: Put, Update, Delete, ConditionCheck, Get

    @property
    def is_write(self) -> bool:
        return self.operation in WRITES

    @property
    def touched(self) -> list[Key]:
        return [k for k in dict.fromkeys(self.keys) if k is not None]

    @property
    def keys_text(self) -> str:
        return " ".join(k[1] for k in self.touched)


def region_of(environ: dict[str, Any]) -> str:
    match = re.search(r"Credential=[^/]+/\d+/([a-z0-9-]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return match[1] if match else "us-east-1"


def parse(operation: str, raw: bytes, region: str, backend: DynamoDBBackend) -> Request:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    request = Request(operation, body if isinstance(body, dict) else {}, raw, region)
    body = request.body

    def add(table_name: str, attrs: Any, *, is_item: bool = False, kind: str = "") -> None:
        request.tables.append(table_name)
        request.kinds.append(kind or operation.removesuffix("Item"))
        key = key_of(backend.tables.get(table_name), attrs)
        request.keys.append(canonical(table_name, key) if key is not None else None)
        request.items.append(attrs if is_item and isinstance(attrs, dict) else None)

    if operation == "PutItem":
        add(body.get("TableName", ""), body.get("Item"), is_item=True)
    elif operation in ("GetItem", "UpdateItem", "DeleteItem"):
        add(body.get("TableName", ""), body.get("Key"))
    elif operation in ("TransactWriteItems", "TransactGetItems"):
        for entry in body.get("TransactItems") or []:
            for op_type, op in entry.items():
                is_put = op_type == "Put"
                add(op.get("TableName", ""), op.get("Item") if is_put else op.get("Key"), is_item=is_put, kind=op_type)
    elif operation == "BatchWriteItem":
        for table_name, writes in (body.get("RequestItems") or {}).items():
            for write in writes:
                if "PutRequest" in write:
                    add(table_name, write["PutRequest"].get("Item"), is_item=True, kind="Put")
                else:
                    add(table_name, write.get("DeleteRequest", {}).get("Key"), kind="Delete")
    elif operation == "BatchGetItem":
        for table_name, spec in (body.get("RequestItems") or {}).items():
            for key in spec.get("Keys", []):
                add(table_name, key, kind="Get")
    elif "TableName" in body:
        request.tables.append(body["TableName"])
    return request


def json_response(status: int, payload: dict[str, Any]) -> Response:
    body = json.dumps(payload).encode()
    headers = [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", uuid.uuid4().hex.upper()),
    ]
    reason = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}
    return f"{status} {reason.get(status, 'Error')}", headers, body


def error(code: str, message: str, status: int = 400, **extra: Any) -> Response:
    return json_response(status, {"__type": ERROR_PREFIX + code, "message": message, **extra})


def cancelled(reasons: list[tuple[str, str] | None]) -> Response:
    """TransactionCanceledException in DynamoDB's shape: one reason per item, `None` where that item was fine."""
    wire = [{"Code": r[0], "Message": r[1]} if r else {"Code": "None"} for r in reasons]
    message = "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]".format(
        ", ".join(r["Code"] for r in wire)
    )
    return json_response(
        400, {"__type": ERROR_PREFIX + "TransactionCanceledException", "CancellationReasons": wire, "Message": message}
    )


def status_code(response: Response) -> int:
    return int(response[0].split(" ", 1)[0])


def drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's connection without an answer (what a lost response or a reset looks like to the SDK)."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):  # already gone
        sock.shutdown(socket.SHUT_RDWR)
