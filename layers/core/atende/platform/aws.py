"""boto3 clients built on first use and cached per container; inside a turn each call is bounded by its deadline."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from atende.platform.deadline import Deadline, current
from atende.platform.errors import AtendeError, DeadlineExceeded, StoreUnavailable

# Outside a turn (config API, schedules): 5 s reads and botocore's standard retries, 3 attempts.
_CONFIG = Config(connect_timeout=1, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
TURN_READ_TIMEOUT_SECONDS = 2.0  # one attempt inside a turn: a healthy DynamoDB answers in milliseconds
GRACE_SECONDS = 0.5  # a call may end this long after the deadline (settling a paid call, the answer itself)
MIN_CALL_SECONDS = 0.15  # an attempt is not started with less than this left
UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
}


def _left(deadline: Deadline) -> float:
    """Seconds a call may still take: to the deadline plus the grace, negative once that has passed (not the
    clamped `remaining()`, which would let a call start at any time after the deadline)."""
    return deadline.expires - time.monotonic() + GRACE_SECONDS


def _bound_attempt(request: Any, **_: Any) -> None:
    """before-send: inside a turn an attempt reads for at most what is left, and is not started when nothing is.

    botocore cannot change a client's timeouts per call, but honours a `read_timeout` in the request context."""
    deadline = current()
    if deadline is None:
        return
    left = _left(deadline)
    if left < MIN_CALL_SECONDS:
        raise DeadlineExceeded(f"The turn's {deadline.seconds:g} s deadline passed before a storage call could start.")
    request.context["read_timeout"] = min(TURN_READ_TIMEOUT_SECONDS, left)


def _retry_in_time(attempts: int, **_: Any) -> bool | None:
    """needs-retry, ahead of botocore's own handler: False vetoes a retry whose worst backoff leaves too little."""
    deadline = current()
    if deadline is None:
        return None
    worst_backoff = min(2.0 ** (attempts - 1), 20.0)  # standard mode sleeps random() * 2^(attempt-1), at most 20 s
    return False if _left(deadline) - worst_backoff < 2 * MIN_CALL_SECONDS else None


def _bounded(low_level: Any) -> Any:
    service = low_level.meta.service_model.service_id.hyphenize()
    low_level.meta.events.register_first(f"before-send.{service}", _bound_attempt, unique_id="atende-deadline-send")
    low_level.meta.events.register_first(f"needs-retry.{service}", _retry_in_time, unique_id="atende-deadline-retry")
    return low_level


@cache
def client(service: str) -> Any:
    """A cached low-level client; boto3 reads AWS_ENDPOINT_URL itself, which points the local stack at moto."""
    return _bounded(boto3.session.Session().client(service, config=_CONFIG))  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    """A cached DynamoDB Table resource for `name`."""
    resource = boto3.session.Session().resource("dynamodb", config=_CONFIG)
    _bounded(resource.meta.client)
    return resource.Table(name)


def unavailable(error: BaseException) -> AtendeError | None:
    """The domain error an AWS failure stands for when it means "not now" (a timeout, a lost connection,
    throttling or a 5xx that outlasted the retries, the deadline itself); None for any other failure."""
    if isinstance(error, (DeadlineExceeded, StoreUnavailable)):
        return error
    if isinstance(error, GetParameterError) and error.__context__ is not None:
        return unavailable(error.__context__)  # Powertools re-raises a secret read's botocore failure as text
    if isinstance(error, (HTTPClientError, BotoConnectionError)):
        return StoreUnavailable("Storage did not answer in time; try again in a moment.", headers={"Retry-After": "1"})
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
        reasons = {r.get("Code") for r in error.response.get("CancellationReasons", [])}
        if code in UNAVAILABLE_CODES or reasons & {"ThrottlingError", "TransactionConflict"}:
            return StoreUnavailable("Storage is busy; try again in a moment.", headers={"Retry-After": "1"})
    return None
