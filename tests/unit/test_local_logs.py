"""The local stack's logs stay bounded over a long run: the IAM access log and the offline upstream's request log."""

from __future__ import annotations

from pathlib import Path

from devtools.fake_openai.state import KEEP_REQUESTS, RecordedRequest, UpstreamState
from devtools.moto_iam import AccessLog, Check


def test_the_access_log_holds_each_allowed_check_once_and_every_refusal_in_order() -> None:
    log = AccessLog()
    allowed = Check("arn:aws:sts::1:assumed-role/chat/x", "dynamodb:GetItem", "arn:aws:dynamodb:::table/t", True)
    for _ in range(10_000):
        log.add(allowed)
    first = Check("arn:aws:sts::1:assumed-role/chat/x", "secretsmanager:ListSecrets", "*", False)
    second = Check("arn:aws:sts::1:assumed-role/config/x", "sns:Publish", "arn:aws:sns:::t", False)
    log.add(first)
    log.add(second)
    log.add(first)

    assert log.held() == 4
    assert log.denied() == [first, second, first]


def test_the_access_log_summary_names_each_call_and_whether_it_was_ever_refused(tmp_path: Path) -> None:
    log = AccessLog()
    log.add(Check("role/chat", "dynamodb:GetItem", "table/t", True))
    log.add(Check("role/chat", "dynamodb:GetItem", "table/t", False))
    log.add(Check("role/chat", "dynamodb:PutItem", "table/t", True))
    path = tmp_path / "summary.json"
    log.write_summary(str(path))

    assert path.read_text(encoding="utf-8").count("dynamodb:") == 2
    assert '"dynamodb:GetItem table/t": false' in path.read_text(encoding="utf-8")
    assert '"dynamodb:PutItem table/t": true' in path.read_text(encoding="utf-8")


def test_the_upstream_request_log_keeps_the_latest_requests_only() -> None:
    state = UpstreamState()
    for number in range(KEEP_REQUESTS + 250):
        state.record(RecordedRequest("POST", "/v1/chat/completions", {}, {"n": number}, float(number)))

    kept = state.requests
    assert len(kept) == KEEP_REQUESTS
    assert [kept[0].json["n"], kept[-1].json["n"]] == [250, KEEP_REQUESTS + 249]
