"""Conversation history: one item per message, appended with conditional puts on the next sequence number."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from atende.models.common import utc_now
from atende.platform.errors import StoreUnavailable
from atende.platform.retry import attempts, retry_contended
from atende.store.items import MAX_ITEM_BYTES, fit_message, item_bytes, stored_json
from atende.store.table import TableStore, expires_at, is_expired, transaction_cancel_reasons


def conversation_pk(tenant_id: str, bot_id: str, conversation_id: str) -> str:
    return f"CONV#{tenant_id}#{bot_id}#{conversation_id}"


def _sk(seq: int) -> str:
    return f"MSG#{seq:010d}"


@dataclass
class History:
    """The newest stored messages (oldest first), their sequence numbers, and the running summary."""

    messages: list[dict[str, Any]]
    last_seq: int
    summary: str | None = None
    seqs: list[int] = field(default_factory=list)
    summary_through: int = 0  # messages up to this sequence number are folded into the summary

    def unsummarized(self) -> list[dict[str, Any]]:
        return [m for m, seq in zip(self.messages, self.seqs, strict=True) if seq > self.summary_through]

    def seqs_of(self, messages: list[dict[str, Any]]) -> list[int]:
        ids = {id(m) for m in messages}
        return [seq for m, seq in zip(self.messages, self.seqs, strict=True) if id(m) in ids]


class ConversationStore(TableStore):
    def recent(self, tenant_id: str, bot_id: str, conversation_id: str, *, limit: int = 100) -> History:
        """One Query, newest first: the history a turn starts from (the summary item sorts after MSG#)."""
        page = self.table.query(
            KeyConditionExpression=Key("PK").eq(conversation_pk(tenant_id, bot_id, conversation_id)),
            ScanIndexForward=False,
            Limit=limit + 1,
        )
        items = page.get("Items", [])
        summary, through = None, 0
        if items and items[0]["SK"] == "SUMMARY":
            if not is_expired(items[0]):
                summary = str(items[0].get("summary") or "") or None
                through = int(items[0].get("through_seq") or 0)
            items = items[1:]
        last_seq = _seq(items[0]) if items else 0
        live = [item for item in reversed(items[:limit]) if not is_expired(item)]
        return History([_message(item) for item in live], last_seq, summary, [_seq(i) for i in live], through)

    def messages_after(
        self, tenant_id: str, bot_id: str, conversation_id: str, *, after_seq: int, page_size: int
    ) -> Iterator[dict[str, Any]]:
        """Stored messages after `after_seq`, oldest first, with their metadata; read `page_size` at a time.

        A generator: the reader stops when its answer is full, and no more pages are read than it consumed.
        """
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(conversation_pk(tenant_id, bot_id, conversation_id))
            & Key("SK").between(_sk(after_seq + 1), "MSG#~"),
            "Limit": page_size,
        }
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                if not is_expired(item):
                    yield _message(item, with_meta=True)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def append(
        self,
        tenant_id: str,
        bot_id: str,
        conversation_id: str,
        messages: list[dict[str, Any]],
        *,
        after_seq: int | None,
        retention_days: int,
        request_id: str,
        turn_record: dict[str, Any] | None = None,
        extra_operations: list[dict[str, Any]] | None = None,
    ) -> int:
        """Store `messages` after `after_seq` in one transaction with `extra_operations` (billing).

        When a concurrent turn took those sequence numbers, re-read the tail and try the next ones (with jitter,
        while the deadline leaves time; then StoreUnavailable): both turns land, each turn's messages stay
        adjacent and in order, and nothing is overwritten. `after_seq=None` (history was not read) reads the tail
        first. `turn_record` (how the turn was answered, billed and moderated; never text) is kept on the last
        message. Returns the last sequence number stored.
        """
        pk = conversation_pk(tenant_id, bot_id, conversation_id)
        now, ttl = utc_now(), expires_at(retention_days)
        items = _message_items(pk, messages, now=now, ttl=ttl, request_id=request_id, turn_record=turn_record)
        seq = self._last_seq(pk) if after_seq is None else after_seq
        for _ in attempts():
            puts = [
                {
                    "Put": {
                        "TableName": self.name,
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "Item": {**item, "SK": _sk(seq + i + 1)},
                    }
                }
                for i, item in enumerate(items)
            ]
            try:
                self.transact(puts + list(extra_operations or []))
                return seq + len(messages)
            except ClientError as error:
                reasons = transaction_cancel_reasons(error)
                message_conflict = any(r == "ConditionalCheckFailed" for r in reasons[: len(puts)])
                retryable = message_conflict or "TransactionConflict" in reasons
                if not retryable:
                    raise
                if message_conflict and (landed := self._landed(pk, seq, request_id)) is not None:
                    # An attempt whose answer was lost (the SDK retried it) already wrote this turn, billing
                    # included: the transaction is atomic, so finding its messages proves the rest landed too.
                    return landed
                seq = max(seq, self._last_seq(pk))
        raise StoreUnavailable(f"Conversation '{conversation_id}' is too busy to append to within the deadline.")

    def save_summary(
        self, tenant_id: str, bot_id: str, conversation_id: str, summary: str, *, through_seq: int, retention_days: int
    ) -> None:
        """Replace the running summary, unless a concurrent turn already folded further."""
        try:
            retry_contended(
                lambda: self.table.put_item(
                    Item={
                        "PK": conversation_pk(tenant_id, bot_id, conversation_id),
                        "SK": "SUMMARY",
                        "summary": summary,
                        "through_seq": through_seq,
                        "updated_at": utc_now(),
                        "expires_at": expires_at(retention_days),
                    },
                    ConditionExpression="attribute_not_exists(through_seq) OR through_seq < :through",
                    ExpressionAttributeValues={":through": through_seq},
                )
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def delete(self, tenant_id: str, bot_id: str, conversation_id: str) -> int:
        """Erase a conversation (right to erasure); returns how many items were removed."""
        items = self.query_all(
            KeyConditionExpression=Key("PK").eq(conversation_pk(tenant_id, bot_id, conversation_id)),
            ProjectionExpression="PK, SK",
        )
        with self.table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
        return len(items)

    def _landed(self, pk: str, after_seq: int, request_id: str) -> int | None:
        """The last sequence number of this request's messages stored after `after_seq`, if any landed."""
        items = self.query_all(
            KeyConditionExpression=Key("PK").eq(pk) & Key("SK").between(_sk(after_seq + 1), "MSG#~"),
            ConsistentRead=True,
            ProjectionExpression="#sk, #rid",
            ExpressionAttributeNames={"#sk": "SK", "#rid": "request_id"},
        )
        ours = [_seq(item) for item in items if item.get("request_id") == request_id]
        return max(ours) if ours else None

    def _last_seq(self, pk: str) -> int:
        page = self.table.query(
            KeyConditionExpression=Key("PK").eq(pk) & Key("SK").begins_with("MSG#"),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
            ProjectionExpression="SK",
        )
        items = page.get("Items", [])
        return int(str(items[0]["SK"]).removeprefix("MSG#")) if items else 0


def _message_items(
    pk: str,
    messages: list[dict[str, Any]],
    *,
    now: str,
    ttl: int,
    request_id: str,
    turn_record: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """One item per message, each under DynamoDB's item size: a message too large is stored truncated.

    The provider was paid and the caller gets the whole reply either way; what must not happen is a turn
    lost to a refused write. A truncated item says so (`truncated`), and so does the turn record.
    """
    items: list[dict[str, Any]] = []
    flagged = {**turn_record, "stored_truncated": True} if turn_record is not None else None
    for i, message in enumerate(messages):
        last = i == len(messages) - 1
        item: dict[str, Any] = {
            "PK": pk,
            "SK": _sk(0),
            "type": "message",
            "role": message["role"],
            "message": "",
            "created_at": now,
            "request_id": request_id,
            "expires_at": ttl,
            "truncated": True,
        }
        if last and flagged is not None:
            item["turn"] = json.dumps(flagged, ensure_ascii=False, default=str)
        stored, truncated = fit_message(message, MAX_ITEM_BYTES - item_bytes(item))
        item["message"] = stored_json(stored)
        if not truncated:
            del item["truncated"]
        items.append(item)
    if turn_record is not None and items and not any(item.get("truncated") for item in items):
        items[-1]["turn"] = json.dumps(turn_record, ensure_ascii=False, default=str)
    return items


def _seq(item: dict[str, Any]) -> int:
    return int(str(item["SK"]).removeprefix("MSG#"))


def _message(item: dict[str, Any], *, with_meta: bool = False) -> dict[str, Any]:
    message = dict(json.loads(item["message"]))
    if with_meta:
        message["created_at"] = item.get("created_at")
        message["seq"] = int(str(item["SK"]).removeprefix("MSG#"))
        if item.get("turn"):
            message["turn"] = json.loads(item["turn"])
        if item.get("truncated"):
            message["truncated"] = True
    return message
