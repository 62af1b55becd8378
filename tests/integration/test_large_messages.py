"""Messages too large for one 400 KB DynamoDB item: the turn is stored (a marked, truncated copy) and billed once."""

from __future__ import annotations

from tests.support import ChatSetup

SENTENCE = "Tenemos envíos a todo el país en cinco días hábiles."  # 14 tokens, 56 bytes
BIG_REPLY = " ".join([SENTENCE] * 8_000)  # ~450 KB in UTF-8, 112k tokens


def _conversation(setup: ChatSetup, conversation: str) -> list[dict]:
    answer = setup.tenant.api.call("GET", f"/v1/bots/shop/conversations/{conversation}", key=setup.key)
    assert answer.status == 200, answer.text
    return list(answer.json["messages"])


def test_a_reply_over_400_kb_keeps_the_turn_and_the_caller_gets_all_of_it(setup: ChatSetup) -> None:
    setup.upstream.enqueue(content=BIG_REPLY)
    body = {"model": "bot:shop", "conversation_id": "c-big", "messages": [{"role": "user", "content": "cuéntalo"}]}
    body["max_tokens"] = 128_000
    answer = setup.completions(body)
    assert answer.status == 200, answer.text[:500]
    assert answer.json["choices"][0]["message"]["content"] == BIG_REPLY  # the caller's copy is whole

    user, reply = _conversation(setup, "c-big")
    assert user["content"] == "cuéntalo" and "truncated" not in user
    assert reply["truncated"] is True and reply["turn"]["stored_truncated"] is True
    assert reply["content"].startswith(BIG_REPLY[:1000]) and "[truncated by Atende" in reply["content"]
    assert len(reply["content"].encode()) < 360_000

    # The conversation goes on from the stored copy, and the next turn is stored after it.
    assert setup.chat({"message": "gracias", "conversation_id": "c-big"}).status == 200
    assert [m["role"] for m in _conversation(setup, "c-big")] == ["user", "assistant", "user", "assistant"]


def test_a_reply_of_escaped_characters_is_measured_as_stored(setup: ChatSetup) -> None:
    setup.upstream.enqueue(content='"\\\n' * 60_000)  # 180 K characters, each stored escaped as two bytes
    answer = setup.chat({"message": "comillas", "conversation_id": "c-escaped", "max_tokens": 128_000})
    assert answer.status == 200, answer.text[:500]
    reply = _conversation(setup, "c-escaped")[-1]
    assert reply["truncated"] is True and reply["content"].startswith('"\\\n"\\\n')


def test_a_reply_that_fits_is_stored_as_is(setup: ChatSetup) -> None:
    fits = " ".join([SENTENCE] * 3_500)  # ~200 KB
    setup.upstream.enqueue(content=fits)
    assert setup.chat({"message": "largo", "conversation_id": "c-fits", "max_tokens": 128_000}).status == 200
    reply = _conversation(setup, "c-fits")[-1]
    assert reply["content"] == fits and "truncated" not in reply and "stored_truncated" not in reply["turn"]
