"""Inside a turn, a storage call reads for at most what is left (plus a grace), and none starts past that."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from atende.platform import aws
from atende.platform.deadline import Deadline, bounded
from atende.platform.errors import DeadlineExceeded


def _send_attempt() -> dict[str, float]:
    request = SimpleNamespace(context={})
    aws._bound_attempt(request)
    return request.context


def test_a_call_reads_for_what_is_left_plus_the_grace() -> None:
    with bounded(Deadline(1.0)):
        timeout = _send_attempt()["read_timeout"]
    assert 1.0 < timeout <= 1.0 + aws.GRACE_SECONDS


def test_a_call_is_capped_at_the_turn_read_timeout() -> None:
    with bounded(Deadline(20.0)):
        assert _send_attempt()["read_timeout"] == aws.TURN_READ_TIMEOUT_SECONDS


def test_no_call_starts_once_the_deadline_and_its_grace_have_passed() -> None:
    past = Deadline(1.0, started=time.monotonic() - 1.0 - aws.GRACE_SECONDS)
    with bounded(past), pytest.raises(DeadlineExceeded):
        _send_attempt()


def test_a_call_started_in_the_grace_gets_only_the_rest_of_it() -> None:
    late = Deadline(1.0, started=time.monotonic() - 1.2)
    with bounded(late):
        timeout = _send_attempt()["read_timeout"]
    assert timeout <= aws.GRACE_SECONDS - 0.2 + 0.01


def test_outside_a_turn_the_client_keeps_its_own_timeouts() -> None:
    assert _send_attempt() == {}


def test_a_secret_read_that_timed_out_means_not_now() -> None:
    """Powertools turns a Secrets Manager read's botocore failure into a GetParameterError with the text only: the
    turn must still see "storage did not answer" (a webhook handoff, a 503), not an unexplained 500."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
    from botocore.exceptions import ReadTimeoutError

    try:
        try:
            raise ReadTimeoutError(endpoint_url="http://127.0.0.1:1/")
        except ReadTimeoutError as timeout:
            raise GetParameterError(str(timeout))  # noqa: B904 - what Powertools does
    except GetParameterError as error:
        mapped = aws.unavailable(error)
    assert mapped is not None and mapped.status == 503
    assert aws.unavailable(GetParameterError("ResourceNotFoundException")) is None
