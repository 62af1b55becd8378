"""Contended DynamoDB writes (transaction conflicts, throttling) tried again with jitter, inside the deadline."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

from botocore.exceptions import ClientError

from atende.platform.deadline import Deadline, current

OUTSIDE_TURN_SECONDS = 5.0  # what a write outside a turn (config API, schedules) may spend on contention
BASE_SECONDS = 0.02
CAP_SECONDS = 0.5
MIN_ATTEMPT_SECONDS = 0.2  # no attempt is started with less than this left
# Neither is retried by botocore's standard mode; throttling is, but a hot item can outlast its 3 attempts.
CONTENDED_CODES = {
    "TransactionConflictException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}
CONTENDED_REASONS = {"TransactionConflict", "ThrottlingError"}
FINAL_REASONS = {"ConditionalCheckFailed", "ValidationError", "ItemCollectionSizeLimitExceeded"}


def contended(error: BaseException) -> bool:
    """Whether a write failed only because others held its items (or their throughput): trying again may land.

    A cancelled transaction counts when a reason is a conflict or throttling and none is a final answer."""
    if not isinstance(error, ClientError):
        return False
    code = error.response.get("Error", {}).get("Code")
    if code in CONTENDED_CODES:
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = {reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])}
    return bool(reasons & CONTENDED_REASONS) and not reasons & FINAL_REASONS


def attempts(deadline: Deadline | None = None) -> Iterator[int]:
    """Attempt numbers 0, 1, …, sleeping a jittered, growing pause before each one after the first; it stops
    when the pause and one more attempt would not fit in `deadline` (the turn's, else OUTSIDE_TURN_SECONDS)."""
    deadline = deadline or current() or Deadline(OUTSIDE_TURN_SECONDS)
    attempt = 0
    yield attempt
    while True:
        pause = min(CAP_SECONDS, BASE_SECONDS * 2**attempt) * random.uniform(0.5, 1.5)  # noqa: S311 — jitter
        if deadline.remaining() - pause < MIN_ATTEMPT_SECONDS:
            return
        time.sleep(pause)
        attempt += 1
        yield attempt


def retry_contended[T](write: Callable[[], T], deadline: Deadline | None = None) -> T:
    """`write()`, tried again while it fails only on contention and time is left; the last failure is raised."""
    failure: ClientError | None = None
    for _ in attempts(deadline):
        try:
            return write()
        except ClientError as error:
            if not contended(error):
                raise
            failure = error
    assert failure is not None
    raise failure
