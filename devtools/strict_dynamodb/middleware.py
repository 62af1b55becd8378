"""The strict layer itself: WSGI middleware in front of moto that gives DynamoDB calls the cloud's semantics."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import Item

from devtools.strict_dynamodb import control, store
from devtools.strict_dynamodb.rules import (
    FaultRule,
    Settings,
    Throughput,
    decide,
    item_size,
    read_units,
    write_units,
)
from devtools.strict_dynamodb.store import Key
from devtools.strict_dynamodb.wire import (
    CONFLICT_MESSAGE,
    HOT_KEY_MESSAGE,
    TARGET_PREFIX,
    Request,
    Response,
    cancelled,
    drop_connection,
    error,
    parse,
    region_of,
    status_code,
)

logger = logging.getLogger(__name__)
ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"


@dataclass
class _Token:
    fingerprint: str
    response: Response | None  # None while the first request with this token is still running
    expires: float


class StrictDynamoDB:
    """Serves requests concurrently; only the moto call itself (and the layer's bookkeeping) holds `self.lock`,
    so latency, transaction windows and fault waits overlap as they would in the cloud."""

    def __init__(self, app: Any) -> None:
        store.install()
        self.app = app
        self.lock = threading.Lock()
        self.settings = Settings()
        self.rules: list[FaultRule] = []
        self.in_flight: dict[Key, str] = {}  # item key → id of the transaction holding it
        self.tokens: dict[str, _Token] = {}
        self.token_expiry: deque[tuple[float, str]] = deque()  # (expires, token) of answered tokens, oldest first
        self.throughput = Throughput()
        self.history: dict[Key, deque[tuple[float, Item | None]]] = {}  # pre-images of recent writes, for GSI lag
        self.counts: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._active = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(control.PREFIX):
            return control.handle(self, environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET_PREFIX):
            with self.lock:  # other services: moto is not thread-safe either
                return list(self.app(environ, start_response))
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self._active_request():
            try:
                response, drop = self._serve(environ, target.removeprefix(TARGET_PREFIX), raw)
            except Exception as exc:  # answer like DynamoDB would, and say why
                logger.exception("strict DynamoDB layer failed on %s", target)
                response, drop = error("InternalServerError", f"strict DynamoDB layer: {exc!r}", 500), False
        if drop or response is None:
            drop_connection(environ)
            start_response("500 Connection dropped", [("Content-Length", "0")])
            return []
        start_response(response[0], response[1])
        return [response[2]]

    # bookkeeping

    def count(self, name: str, n: int = 1) -> None:
        with self._stats_lock:
            self.counts[name] += n

    @contextmanager
    def _active_request(self) -> Iterator[None]:
        with self._stats_lock:
            if self._active == 0:  # idle → busy: a new round of calls (sequential round trips of one client)
                self.counts["rounds"] += 1
            self._active += 1
            self.counts["max_concurrent"] = max(self.counts["max_concurrent"], self._active)
        try:
            yield
        finally:
            with self._stats_lock:
                self._active -= 1

    def reset(self) -> None:
        with self.lock:
            self.settings, self.rules = Settings(), []
            self.tokens.clear()
            self.token_expiry.clear()
            self.history.clear()
            self.throughput.reset()
            store.untrack_dynamodb_models()
        with self._stats_lock:
            self.counts.clear()

    # serving

    def _serve(self, environ: dict[str, Any], operation: str, raw: bytes) -> tuple[Response | None, bool]:
        region = region_of(environ)
        backend = store.backend(region)
        request = parse(operation, raw, region, backend)
        self.count(f"requests.{operation}")
        with self.lock:
            decision = decide(self.rules, operation, request.tables, request.keys_text)
        if decision.latency_ms:
            self.count("faults.latency")
            time.sleep(decision.latency_ms / 1000)
        rule = decision.rule
        if rule is not None:
            self.count(f"faults.{rule.kind}")
            if rule.kind == "error":
                return error(rule.code, rule.message, rule.status), False
            if rule.kind == "reset":
                return None, True
        response = self._dispatch(environ, request, backend)
        if rule is not None and rule.kind == "lost":
            time.sleep(rule.latency_ms / 1000)
            return None, True
        return response, False

    def _dispatch(self, environ: dict[str, Any], request: Request, backend: DynamoDBBackend) -> Response:
        operation = request.operation
        if operation == "TransactWriteItems":
            return self._transact_write(environ, request, backend)
        if request.is_write:
            return self._write(environ, request, backend)
        with self.lock:
            if operation == "TransactGetItems" and any(k in self.in_flight for k in request.touched):
                self.count("transaction_conflicts")
                return self._conflicts(request)
            if operation in ("Query", "Scan") and self._lagging_index(request, backend):
                response = self._lagged_read(environ, request, backend)
            else:
                response = self._moto(environ, request.raw)
        if status_code(response) == 200:  # what DynamoDB on demand bills, in half read request units
            units = read_units(operation, request.body, json.loads(response[2] or b"{}"))
            self.count("read_half_units", round(2 * units))
        return response

    def _moto(self, environ: dict[str, Any], raw: bytes) -> Response:
        """One call into moto; the caller holds `self.lock`."""
        environ = {**environ, "wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))}
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, list(headers)
            return chunks.append

        result = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        return captured["status"], captured["headers"], b"".join(chunks)

    # writes

    def _oversized(self, request: Request) -> bool:
        return any(item_size(item) > self.settings.max_item_bytes for item in request.items if item is not None)

    def _units(self, request: Request, backend: DynamoDBBackend, factor: int) -> dict[Any, int]:
        costs: dict[Any, int] = {}
        for key, kind, item in zip(request.keys, request.kinds, request.items, strict=True):
            if key is None or kind in ("ConditionCheck", "Get"):
                continue
            current = store.get_item(backend, key)
            old = item_size(current.to_json()["Attributes"]) if current is not None else 0
            costs[key] = costs.get(key, 0) + factor * write_units(old, item_size(item))
        return costs

    def _throttled(self, request: Request, backend: DynamoDBBackend, factor: int) -> list[Any]:
        costs = self._units(request, backend, factor)
        short = self.throughput.take(costs, self.settings.item_wcu_per_second)
        if short:
            self.count("throttled")
        else:  # what DynamoDB on demand bills, as write request units
            self.count("write_units", sum(costs.values()))
        return short

    def _too_large_after_update(self, request: Request, backend: DynamoDBBackend) -> list[Key]:
        big = []
        for key, kind in zip(request.keys, request.kinds, strict=True):
            if key is not None and kind == "Update":
                item = store.get_item(backend, key)
                if item is not None and item_size(item.to_json()["Attributes"]) > self.settings.max_item_bytes:
                    big.append(key)
        return big

    def _write(self, environ: dict[str, Any], request: Request, backend: DynamoDBBackend) -> Response:
        if self._oversized(request):
            self.count("size_rejections")
            return error("ValidationException", ITEM_TOO_LARGE)
        with self.lock:
            if any(key in self.in_flight for key in request.touched):
                self.count("transaction_conflicts")
                return error("TransactionConflictException", CONFLICT_MESSAGE)
            if request.operation != "BatchWriteItem" and self._throttled(request, backend, 1):
                table = request.tables[0] if request.tables else ""
                reasons = [{"reason": "TableWriteKeyRangeThroughputExceeded", "resource": table}]
                return error("ProvisionedThroughputExceededException", HOT_KEY_MESSAGE, ThrottlingReasons=reasons)
            # moto replaces the item on Put and Delete but changes it in place on Update: only that needs a copy
            before = store.snapshot(backend, request.touched, copies=request.operation == "UpdateItem")
            response = self._moto(environ, request.raw)
            if status_code(response) == 200:
                if self._too_large_after_update(request, backend):
                    store.restore(backend, before)
                    self.count("size_rejections")
                    return error("ValidationException", UPDATE_TOO_LARGE)
                self._remember(before, backend)
            return response

    def _conflicts(self, request: Request) -> Response:
        conflict = ("TransactionConflict", CONFLICT_MESSAGE)
        return cancelled([conflict if k is not None and k in self.in_flight else None for k in request.keys])

    def _transact_write(self, environ: dict[str, Any], request: Request, backend: DynamoDBBackend) -> Response:
        token = request.body.get("ClientRequestToken")
        fingerprint = hashlib.sha256(
            json.dumps({k: v for k, v in request.body.items() if k != "ClientRequestToken"}, sort_keys=True).encode()
        ).hexdigest()
        if self._oversized(request):
            self.count("size_rejections")
            return error("ValidationException", ITEM_TOO_LARGE)
        transaction = uuid.uuid4().hex
        with self.lock:
            if token:
                self._forget_tokens()
                known = self._known_token(token)
                if known is not None:
                    if known.fingerprint != fingerprint:
                        return error(
                            "IdempotentParameterMismatchException",
                            "Request parameters do not match the original request with this client token",
                        )
                    if known.response is None:
                        return error("TransactionInProgressException", "The transaction with the token is in progress")
                    self.count("idempotent_replays")
                    return known.response
            if any(k in self.in_flight for k in request.touched):
                self.count("transaction_conflicts")
                return self._conflicts(request)
            short = self._throttled(request, backend, 2)
            if short:
                return cancelled([("ThrottlingError", HOT_KEY_MESSAGE) if k in short else None for k in request.keys])
            for key in request.touched:
                self.in_flight[key] = transaction
            if token:
                self.tokens[token] = _Token(fingerprint, None, time.monotonic() + self.settings.token_ttl_seconds)
        response: Response | None = None
        try:
            window = self.settings.transaction_window_ms
            time.sleep(window / 1000 if window > 0 else 0)  # yield: the transaction is visibly in flight
            with self.lock:
                response = self._apply_transaction(environ, request, backend)
                return response
        finally:
            with self.lock:
                for key in request.touched:
                    if self.in_flight.get(key) == transaction:
                        del self.in_flight[key]
                if token and token in self.tokens:
                    if response is not None and status_code(response) == 200:
                        expires = time.monotonic() + self.settings.token_ttl_seconds
                        self.tokens[token] = _Token(fingerprint, response, expires)
                        self.token_expiry.append((expires, token))
                    else:
                        del self.tokens[token]

    def _apply_transaction(self, environ: dict[str, Any], request: Request, backend: DynamoDBBackend) -> Response:
        before = store.snapshot(backend, request.touched)
        response = self._moto(environ, request.raw)
        if status_code(response) != 200:
            return response
        big = self._too_large_after_update(request, backend)
        if big:
            store.restore(backend, before)
            self.count("size_rejections")
            return cancelled([("ValidationError", UPDATE_TOO_LARGE) if k in big else None for k in request.keys])
        self._remember(before, backend)
        return response

    def _forget_tokens(self) -> None:
        """Drop the answered tokens whose time is up, oldest first: each transaction pays only for what expired
        since the last one, not for every token of the last ten minutes. (A token whose TTL setting was changed
        meanwhile may outlive its turn in the queue; `_known_token` checks the time itself.)"""
        now = time.monotonic()
        while self.token_expiry and self.token_expiry[0][0] < now:
            expires, token = self.token_expiry.popleft()
            known = self.tokens.get(token)
            if known is not None and known.response is not None and known.expires <= expires:
                del self.tokens[token]

    def _known_token(self, token: str) -> _Token | None:
        known = self.tokens.get(token)
        if known is not None and known.response is not None and known.expires < time.monotonic():
            del self.tokens[token]
            return None
        return known

    # eventually consistent global secondary indexes

    def _remember(self, before: dict[Key, Item | None], backend: DynamoDBBackend) -> None:
        lag = self.settings.gsi_lag_ms / 1000
        if lag <= 0:
            return
        now = time.monotonic()
        for key, image in before.items():
            table = backend.tables.get(key[0])
            if table is not None and table.global_indexes:
                self.history.setdefault(key, deque()).append((now, image))
        if len(self.history) > 10_000:
            self._prune(now - lag)

    def _prune(self, cutoff: float) -> None:
        for key in list(self.history):
            entries = self.history[key]
            while entries and entries[0][0] <= cutoff:
                entries.popleft()
            if not entries:
                del self.history[key]

    def _lagging_index(self, request: Request, backend: DynamoDBBackend) -> bool:
        index = request.body.get("IndexName")
        if not index or self.settings.gsi_lag_ms <= 0 or request.body.get("ConsistentRead"):
            return False
        table = backend.tables.get(request.body.get("TableName", ""))
        return table is not None and any(i.name == index for i in table.global_indexes)

    def _lagged_read(self, environ: dict[str, Any], request: Request, backend: DynamoDBBackend) -> Response:
        """Run the query with every item written within the lag shown as it was before those writes."""
        self._prune(time.monotonic() - self.settings.gsi_lag_ms / 1000)
        table_name = request.body["TableName"]
        view = {key: entries[0][1] for key, entries in self.history.items() if key[0] == table_name}
        current = {key: store.get_item(backend, key) for key in view}
        store.restore(backend, view)
        try:
            return self._moto(environ, request.raw)
        finally:
            store.restore(backend, current)
