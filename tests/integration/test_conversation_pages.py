"""Reading a conversation in pages: a cursor, a message limit and a byte budget under Lambda's 6 MB answer."""

from __future__ import annotations

import json

import pytest

from atende.chat import responses
from atende.store import stores
from atende.store.conversations import conversation_pk
from tests.support import ChatSetup

LAMBDA_LIMIT = 6 * 1024 * 1024
# ~215 KB stored, ~410 KB in the Lambda answer (each accented letter is six bytes once the body is escaped).
BIG_TEXT = " ".join(f"añoñúé {i} ñandú ácido" for i in range(7_000))


def _store_messages(setup: ChatSetup, conversation: str, texts: list[str]) -> None:
    """Stored as the chat function stores them, directly: writing megabytes through turns is slow locally."""
    table = stores().conversations.table
    for seq, text in enumerate(texts, start=1):
        role = "user" if seq % 2 else "assistant"
        table.put_item(
            Item={
                "PK": conversation_pk(setup.tenant.id, "shop", conversation),
                "SK": f"MSG#{seq:010d}",
                "type": "message",
                "role": role,
                "message": json.dumps({"role": role, "content": text}, ensure_ascii=False),
                "created_at": "2026-01-01T00:00:00Z",
                "request_id": f"r-{seq}",
            }
        )


def _page(setup: ChatSetup, conversation: str, **query: str) -> dict:
    path = f"/v1/bots/shop/conversations/{conversation}"
    answer = setup.tenant.api.call("GET", path, key=setup.key, query=query or None)
    assert answer.status == 200, answer.text[:300]
    assert len(json.dumps(answer.text)) < LAMBDA_LIMIT, "the answer fits Lambda's response as the runtime encodes it"
    return dict(answer.json)


def test_a_conversation_over_the_answer_limit_is_read_in_pages(setup: ChatSetup) -> None:
    texts = [f"{i} {BIG_TEXT}" for i in range(16)]  # ~6.6 MB as answered: more than one page can carry
    _store_messages(setup, "c-huge", texts)
    seen: list[str] = []
    page = _page(setup, "c-huge")
    pages = 1
    while True:
        seen += [m["content"] for m in page["messages"]]
        assert page["count"] == len(page["messages"])
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        page = _page(setup, "c-huge", cursor=page["next_cursor"])
        pages += 1
    assert pages >= 2 and seen == texts, "every message once, in order, across the pages"


def test_limit_and_cursor_page_through_a_small_conversation(setup: ChatSetup) -> None:
    _store_messages(setup, "c-small", [f"mensaje {i}" for i in range(5)])
    first = _page(setup, "c-small", limit="2")
    assert [m["seq"] for m in first["messages"]] == [1, 2] and first["has_more"] is True
    second = _page(setup, "c-small", limit="2", cursor=first["next_cursor"])
    assert [m["seq"] for m in second["messages"]] == [3, 4]
    last = _page(setup, "c-small", limit="2", cursor=second["next_cursor"])
    assert [m["seq"] for m in last["messages"]] == [5] and last["has_more"] is False and last["next_cursor"] is None
    whole = _page(setup, "c-small")
    assert whole["count"] == 5 and whole["has_more"] is False


def test_a_cursor_that_atende_did_not_give_is_a_400(setup: ChatSetup) -> None:
    _store_messages(setup, "c-cursor", ["hola"])
    for bad in ("bm90LWEtY3Vyc29y", "zzz", "c2VxOi0x"):  # not-a-cursor, not base64 of one, seq:-1
        answer = setup.tenant.api.call(
            "GET", "/v1/bots/shop/conversations/c-cursor", key=setup.key, query={"cursor": bad}
        )
        assert answer.status == 400 and answer.error["param"] == "cursor", answer.text


def test_a_returned_history_is_capped_by_the_answer_budget_and_says_so(
    setup: ChatSetup, monkeypatch: pytest.MonkeyPatch, functions_in_this_process: None
) -> None:
    # A turn reads one 1 MB page of history, which stays under 5 MB as answered: a smaller budget shows the cap.
    budget = 1_000_000
    monkeypatch.setattr(responses, "ANSWER_BUDGET_BYTES", budget, raising=False)
    texts = [f"{i} {BIG_TEXT}" for i in range(8)]
    _store_messages(setup, "c-history", texts)
    answer = setup.chat({"message": "¿y ahora?", "conversation_id": "c-history", "return_history": True, "raw": True})
    assert answer.status == 200, answer.text[:300]
    assert len(json.dumps(answer.text)) < budget
    body = answer.json
    assert body["handoff"] is False, f"the turn handed off ({body['handoff_reason']}): it never read the history"
    assert body["history_truncated"] is True and body["raw"]["choices"]
    contents = [m.get("content") for m in body["history"]]
    assert contents[-2] == "¿y ahora?" and contents[-1] == body["reply"], "the newest messages are the ones kept"
    assert texts[0] not in contents


def test_a_short_returned_history_is_whole(setup: ChatSetup) -> None:
    answer = setup.chat({"message": "hola", "conversation_id": "c-short", "return_history": True})
    assert "history_truncated" not in answer.json and len(answer.json["history"]) == 2
