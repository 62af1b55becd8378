"""Direct access to moto's DynamoDB items, and the moto patches that keep per-call cost flat as tables grow:
transactions copy only what they touch, and a query reads its own partition, not every item of the table."""

from __future__ import annotations

import copy
import functools
import json
import threading
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.model_instances import model_data
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

Key = tuple[str, str]  # (table name, canonical JSON of the key attributes)


def backend(region: str) -> DynamoDBBackend:
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region]


def key_of(table: Table | None, attrs: dict[str, Any] | None) -> dict[str, Any] | None:
    """The key attributes of an item (or of a Key argument), by the table's schema; None if they are missing."""
    if table is None or not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
        return None
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        if table.range_key_attr not in attrs:
            return None
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def canonical(table_name: str, key: dict[str, Any]) -> Key:
    return table_name, json.dumps(key, sort_keys=True, separators=(",", ":"))


def get_item(backend_: DynamoDBBackend, key: Key) -> Item | None:
    table = backend_.tables.get(key[0])
    if table is None:
        return None
    hash_key, range_key = backend_.get_keys_value(table, json.loads(key[1]))
    return table.get_item(hash_key, range_key)


def set_item(backend_: DynamoDBBackend, key: Key, item: Item | None) -> None:
    """Put `item` in place of whatever the table holds under `key` (None deletes), bypassing every check."""
    table = backend_.tables.get(key[0])
    if table is None:
        return
    hash_key, range_key = backend_.get_keys_value(table, json.loads(key[1]))
    if table.has_range_key:
        if item is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = item
    elif item is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = item  # type: ignore[assignment]  # moto types the values as range-key dicts


def snapshot(backend_: DynamoDBBackend, keys: list[Key], *, copies: bool = True) -> dict[Key, Item | None]:
    """The items under `keys`, to restore or to show later: private copies, since moto updates items in place."""
    if not copies:
        return {key: get_item(backend_, key) for key in keys}
    return {key: copy.deepcopy(get_item(backend_, key)) for key in keys}


def restore(backend_: DynamoDBBackend, saved: dict[Key, Item | None]) -> None:
    for key, item in saved.items():
        set_item(backend_, key, item)


def transaction_keys(backend_: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Key]:
    keys: list[Key] = []
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend_.tables.get(op.get("TableName", ""))
            key = key_of(table, op.get("Item") if op_type == "Put" else op.get("Key"))
            if table is not None and key is not None:
                keys.append(canonical(table.name, key))
    return keys


class _TableCopyGuard(threading.local):
    active = False


_guard = _TableCopyGuard()


class _CopyWithoutTables:
    """Stands in for the `copy` module inside moto's DynamoDB backend: while a patched transaction runs, a deep copy
    of a Table is the table itself (moto copies every touched table for its rollback); everything else is copied."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if _guard.active and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


class _Untracked(list[Any]):
    """moto keeps every model instance it ever created in `instances_tracked` (for its dashboard): every item
    version and every copy would live forever. DynamoDB models are not kept."""

    def append(self, _value: Any) -> None:
        return None


def untrack_dynamodb_models(*services: str) -> None:
    """Stop moto keeping every model instance of these services (DynamoDB by default)."""
    for service in services or ("dynamodb",):
        for model in model_data.get(service, {}).values():
            if not isinstance(model.instances_tracked, _Untracked):  # type: ignore[attr-defined]
                model.instances_tracked = _Untracked()  # type: ignore[attr-defined]


def tracked_instances() -> int:
    """How many model instances moto keeps for its dashboard, all services together."""
    models: list[Any] = [model for by_name in model_data.values() for model in by_name.values()]
    return sum(len(model.instances_tracked) for model in models)


def item_count() -> int:
    """How many items the base tables hold, every region together (what the local AWS keeps in memory as data)."""
    regions = dynamodb_backends[DEFAULT_ACCOUNT_ID]
    return sum(len(table) for region in list(regions) for table in list(regions[region].tables.values()))


_original_transact = DynamoDBBackend.transact_write_items


@functools.wraps(_original_transact)
def _transact_touched_only(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved = snapshot(self, transaction_keys(self, transact_items))
    _guard.active = True
    try:
        _original_transact(self, transact_items)
    except BaseException:
        restore(self, saved)
        raise
    finally:
        _guard.active = False


class _QueryScope(threading.local):
    table: Table | None = None
    hash_key: Any = None
    index_name: str | None = None


_scope = _QueryScope()
_original_query = Table.query
_original_all_items = Table.all_items


@functools.wraps(_original_query)
def _query_in_scope(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's Table.query, telling `all_items` below which query asks (moto passes index_name 8th)."""
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    saved = (_scope.table, _scope.hash_key, _scope.index_name)
    _scope.table, _scope.hash_key, _scope.index_name = self, hash_key, index_name
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _scope.table, _scope.hash_key, _scope.index_name = saved


@functools.wraps(_original_all_items)
def _items_for_the_query(self: Table) -> list[Item]:
    """moto's query picks its items out of `all_items()`: every item of the table, sorted, on every call (the
    cost grows with the table: a soak's turn rate fell by two thirds). For a base-table query, the items of its
    one partition (the query sorts them by range key itself); for an index query, every item unsorted (it sorts
    what matches). Anything else (Scan) gets moto's sorted list."""
    if _scope.table is not self:
        return _original_all_items(self)
    if _scope.index_name:
        if not self.range_key_attr:
            return list(self.items.values())  # type: ignore[arg-type]  # hash-only: the values are items
        return [item for partition in self.items.values() for item in partition.values()]
    partition = self.items.get(_scope.hash_key)
    if partition is None:
        return []
    return list(partition.values()) if self.range_key_attr else [partition]  # type: ignore[list-item]


def install() -> None:
    """Idempotent: transactions snapshot only the items they touch; queries read their own partition; DynamoDB
    model instances are not tracked."""
    if DynamoDBBackend.transact_write_items is not _transact_touched_only:
        dynamodb_models.copy = _CopyWithoutTables()  # type: ignore[attr-defined,assignment]
        DynamoDBBackend.transact_write_items = _transact_touched_only  # type: ignore[method-assign]
    if Table.query is not _query_in_scope:
        Table.query = _query_in_scope  # type: ignore[method-assign]
        Table.all_items = _items_for_the_query  # type: ignore[method-assign]
    untrack_dynamodb_models()
