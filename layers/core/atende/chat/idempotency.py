"""Safe retries: a turn sent again with the same Idempotency-Key is answered from the stored result (24 h)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyItemAlreadyExistsError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from atende.platform import aws
from atende.platform.errors import AtendeError, Conflict, InvalidRequest
from atende.platform.observability import logger
from atende.platform.settings import get_settings

REPLAY_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255
TENANT_SEPARATOR = "|"  # not allowed in tenant ids
RETRY_AFTER_SECONDS = 1  # the 409 for a key still being answered: the first answer is usually seconds away


@dataclass(frozen=True)
class StoredAnswer:
    """An answer exactly as sent: its body text, so that a replay repeats the same bytes, not a re-serialization."""

    body: str
    content_type: str
    request_id: str
    status: int = 200
    replayed: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # Atende's own (x-atende-*), replayed with the body

    def record(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "content_type": self.content_type,
            "request_id": self.request_id,
            "status": self.status,
            "headers": self.headers,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StoredAnswer:
        if "body" not in record:  # stored before answers were kept as text: the answer object itself
            text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            return cls(text, "application/json", str(record.get("request_id") or ""))
        return cls(
            record["body"],
            record["content_type"],
            record["request_id"],
            int(record["status"]),
            headers=dict(record.get("headers") or {}),
        )


@cache
def _config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="[tenant, key]",  # keys are per tenant: two tenants may pick the same key
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=REPLAY_SECONDS,
    )


class TenantPartitionedPersistence(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB layer with each tenant's records in a partition of its own (PK `IDEMPOTENCY#<tenant>`,
    SK `<tenant>|<function>#<hash>`): one static PK would put every tenant's turns on one hot partition."""

    def _get_hashed_idempotency_key(self, data: dict[str, Any]) -> str | None:
        hashed = super()._get_hashed_idempotency_key(data)
        tenant = data.get("tenant") if isinstance(data, dict) else None
        return f"{tenant}{TENANT_SEPARATOR}{hashed}" if hashed and tenant else hashed

    def _get_key(self, idempotency_key: str) -> dict:
        tenant, separator, _ = idempotency_key.partition(TENANT_SEPARATOR)
        if not separator or self.sort_key_attr is None:
            return super()._get_key(idempotency_key)
        return {self.key_attr: {"S": f"IDEMPOTENCY#{tenant}"}, self.sort_key_attr: {"S": idempotency_key}}

    def _put_record(self, data_record: DataRecord) -> None:
        """The in-progress put; one that botocore sent again after the first landed and its answer was lost finds
        its own record (what the condition refuses), which is not another request's: the turn goes on."""
        try:
            super()._put_record(data_record)
        except IdempotencyItemAlreadyExistsError as exists:
            if not _same_attempt(exists.old_data_record, data_record):
                raise


def _same_attempt(found: DataRecord | None, sent: DataRecord) -> bool:
    """Whether `found` is the very record `sent` wrote: in progress, with the same payload and the same expiries
    (the in-progress one is this invocation's end, to the millisecond)."""
    return (
        found is not None
        and found.status == STATUS_CONSTANTS["INPROGRESS"]
        and found.in_progress_expiry_timestamp is not None
        and found.in_progress_expiry_timestamp == sent.in_progress_expiry_timestamp
        and found.expiry_timestamp == sent.expiry_timestamp
        and found.payload_hash == sent.payload_hash
    )


@cache
def _idempotent() -> Callable[..., dict[str, Any]]:
    """Powertools' idempotency over the single table (a partition per tenant, expiring through its TTL)."""
    persistence = TenantPartitionedPersistence(
        table_name=get_settings().table_name,
        key_attr="PK",
        sort_key_attr="SK",
        expiry_attr="expires_at",
        boto3_client=aws.client("dynamodb"),
    )

    @idempotent_function(data_keyword_argument="request", config=_config(), persistence_store=persistence)
    def run(*, request: dict[str, Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return compute()

    return run


def register_context(context: LambdaContext) -> None:
    """Lets an in-progress record expire with the invocation, so a crashed call does not block retries."""
    _config().register_lambda_context(context)


def run_once(
    tenant_id: str,
    key: str | None,
    payload: dict[str, Any],
    compute: Callable[[], StoredAnswer],
    *,
    on_unrecorded: Callable[[AtendeError], StoredAnswer | None] | None = None,
) -> StoredAnswer:
    """`compute()` once per (tenant, key); a replay returns the first answer, marked `replayed`.

    Errors are not remembered: a request that failed may be retried with the same key. The records' calls are
    bounded like the turn's (call it inside the turn's deadline). When the record cannot be written ("not now"),
    nothing runs: `on_unrecorded(error)` answers instead (a webhook's handoff), else the error is raised. When the
    answer is computed but cannot be recorded, the answer is returned all the same (it was paid for); a retry
    with the key is then refused as in progress until the in-progress record expires with the invocation.
    """
    if not key:
        return compute()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"Idempotency-Key must be printable and at most {MAX_KEY_LENGTH} characters.", param="Idempotency-Key"
        )
    computed: list[StoredAnswer] = []
    failed: list[BaseException] = []

    def first_answer() -> dict[str, Any]:
        try:
            computed.append(compute())
        except BaseException as error:
            failed.append(error)
            raise
        return computed[0].record()

    try:
        stored = _idempotent()(request={"tenant": tenant_id, "key": key, "payload": payload}, compute=first_answer)
    except IdempotencyAlreadyInProgressError as error:
        raise Conflict(
            "A request with this Idempotency-Key is still being answered; retry in a moment.",
            param="Idempotency-Key",
            code="idempotency_in_progress",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error
    except IdempotencyValidationError as error:
        raise InvalidRequest(
            "This Idempotency-Key was already used with a different request body.",
            param="Idempotency-Key",
            code="idempotency_key_reused",
        ) from error
    except IdempotencyPersistenceLayerError as error:
        return _unrecorded(error, computed, failed, on_unrecorded)
    if computed:  # answered now
        return computed[0]
    return replace(StoredAnswer.from_record(stored), replayed=True)


def _unrecorded(
    error: IdempotencyPersistenceLayerError,
    computed: list[StoredAnswer],
    failed: list[BaseException],
    on_unrecorded: Callable[[AtendeError], StoredAnswer | None] | None,
) -> StoredAnswer:
    """What a request answers when its idempotency record could not be written, read or cleared."""
    if computed:  # answered, but not recorded: the caller still gets what it paid for
        logger.warning("the answer could not be recorded for its Idempotency-Key", exc_info=error)
        return computed[0]
    if failed:  # the turn failed and its in-progress record could not be cleared: the turn's own error counts
        raise failed[0]
    mapped = aws.unavailable(error.__cause__ or error)
    if mapped is None:
        raise error
    answer = on_unrecorded(mapped) if on_unrecorded is not None else None
    if answer is None:
        raise mapped from error
    return answer
