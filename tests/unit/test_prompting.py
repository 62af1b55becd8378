"""System prompt assembly, history trimming to a token budget, and summary rendering."""

from __future__ import annotations

from typing import Any

import pytest

from atende.chat.prompt import (
    SUMMARY_INSTRUCTION,
    PromptPlan,
    build_messages,
    build_system_prompt,
    history_for_summary,
)
from atende.providers.tokens import count_message, count_message_tokens

RULES = "You are Lia, the support assistant of Loja Azul. Answer briefly and politely."
KB = "Shipping: 3 to 5 business days.\nReturns: within 30 days with the receipt."
PROMPTS = [("tone", "Use a warm, informal tone."), ("sales", "Offer the loyalty card when relevant.")]


def system() -> str:
    return build_system_prompt(rules=RULES, knowledge_base=KB, prompts=PROMPTS)


def test_system_prompt_layout_is_exact() -> None:
    assert system() == (
        f"{RULES}\n\n"
        f"## Knowledge base\n\n{KB}\n\n"
        "## Instructions: tone\n\nUse a warm, informal tone.\n\n"
        "## Instructions: sales\n\nOffer the loyalty card when relevant."
    )


def test_system_prompt_is_byte_identical_across_builds() -> None:
    first = system().encode()
    second = build_system_prompt(rules=RULES, knowledge_base=KB, prompts=list(PROMPTS)).encode()
    assert first == second


def test_prompts_follow_the_given_order() -> None:
    reordered = build_system_prompt(rules=RULES, knowledge_base=KB, prompts=list(reversed(PROMPTS)))
    assert reordered.index("## Instructions: sales") < reordered.index("## Instructions: tone")
    assert reordered != system()


def test_empty_parts_are_omitted() -> None:
    assert build_system_prompt(rules="", knowledge_base="", prompts=[]) == ""
    only_kb = build_system_prompt(rules="  ", knowledge_base=KB, prompts=[("empty", " \n "), ("tone", "Be warm.")])
    assert only_kb == f"## Knowledge base\n\n{KB}\n\n## Instructions: tone\n\nBe warm."
    assert "empty" not in only_kb
    assert "## Knowledge base" not in build_system_prompt(rules=RULES, knowledge_base="", prompts=PROMPTS)


def test_newlines_and_surrounding_whitespace_are_normalised() -> None:
    crlf = build_system_prompt(rules=f"\n{RULES}\r\n", knowledge_base=KB.replace("\n", "\r\n"), prompts=PROMPTS)
    assert crlf == system()


def test_a_prompt_selected_twice_is_used_once() -> None:
    twice = build_system_prompt(
        rules=RULES, knowledge_base=KB, prompts=[*PROMPTS, ("tone", "Use a warm, informal tone.")]
    )
    assert twice == system()


def test_per_call_parts_come_after_the_stable_prefix() -> None:
    stable = system()
    with_summary = build_system_prompt(
        rules=RULES, knowledge_base=KB, prompts=PROMPTS, summary="User asked about order 48213."
    )
    with_both = build_system_prompt(
        rules=RULES,
        knowledge_base=KB,
        prompts=PROMPTS,
        summary="User asked about order 48213.",
        extra_system="Reply in one sentence.",
    )
    assert with_summary.startswith(stable + "\n\n## Summary of the earlier conversation\n\n")
    assert with_both.startswith(with_summary + "\n\n")
    assert with_both.endswith("## Instructions for this reply\n\nReply in one sentence.")
    extra_only = build_system_prompt(
        rules=RULES, knowledge_base=KB, prompts=PROMPTS, extra_system="Reply in one sentence."
    )
    assert extra_only.startswith(stable + "\n\n")


def turn(i: int) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": f"Question number {i}: where is my order {1000 + i}?"},
        {
            "role": "assistant",
            "content": f"Answer number {i}: order {1000 + i} ships tomorrow from the main warehouse.",
        },
    ]


HISTORY = [message for i in range(10) for message in turn(i)]


def full_cost(sys_text: str, history: list[dict[str, Any]], user: str) -> int:
    return count_message_tokens([{"role": "system", "content": sys_text}, *history, {"role": "user", "content": user}])


def test_everything_fits_nothing_trimmed() -> None:
    plan = build_messages(system=system(), history=HISTORY, user_content="hello", token_budget=100_000)
    assert isinstance(plan, PromptPlan)
    assert plan.trimmed == []
    assert plan.messages == [{"role": "system", "content": system()}, *HISTORY, {"role": "user", "content": "hello"}]
    assert plan.prompt_tokens == count_message_tokens(plan.messages)


def test_system_message_is_identical_whatever_the_history() -> None:
    a = build_messages(system=system(), history=HISTORY, user_content="hello", token_budget=100_000)
    b = build_messages(system=system(), history=HISTORY[:3], user_content="other", token_budget=300)
    assert a.messages[0] == b.messages[0]
    assert a.messages[0]["content"].encode() == b.messages[0]["content"].encode()


def test_trimming_drops_the_oldest_first_and_respects_the_budget() -> None:
    total = full_cost(system(), HISTORY, "hello")
    budget = total - 1 - count_message(HISTORY[0]) - count_message(HISTORY[1]) - count_message(HISTORY[2])
    plan = build_messages(system=system(), history=HISTORY, user_content="hello", token_budget=budget)
    assert plan.trimmed == HISTORY[:4]
    assert plan.messages[1:-1] == HISTORY[4:]
    assert plan.prompt_tokens <= budget
    assert plan.prompt_tokens == count_message_tokens(plan.messages)
    # maximal: keeping the newest dropped message as well would not fit
    assert plan.prompt_tokens + count_message(HISTORY[3]) > budget


def test_never_over_budget_when_history_can_be_dropped() -> None:
    floor = full_cost(system(), [], "hello")
    total = full_cost(system(), HISTORY, "hello")
    for budget in range(floor, total + 2):
        plan = build_messages(system=system(), history=HISTORY, user_content="hello", token_budget=budget)
        assert plan.prompt_tokens <= budget
        assert plan.trimmed + plan.messages[1:-1] == HISTORY
        assert plan.messages[-1] == {"role": "user", "content": "hello"}


def test_system_and_user_are_kept_even_over_budget() -> None:
    plan = build_messages(system=system(), history=HISTORY, user_content="hello", token_budget=10)
    assert plan.messages == [{"role": "system", "content": system()}, {"role": "user", "content": "hello"}]
    assert plan.trimmed == HISTORY
    assert plan.prompt_tokens > 10


def test_empty_system_sends_no_system_message_and_user_parts_pass_through() -> None:
    parts = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
    ]
    plan = build_messages(system="", history=[], user_content=parts, token_budget=1_000)
    assert plan.messages == [{"role": "user", "content": parts}]
    assert plan.prompt_tokens == count_message_tokens(plan.messages)


CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_order", "arguments": '{"id": "48213"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "get_customer", "arguments": '{"email": "a@b.c"}'}},
    ],
}
RESULT_A = {"role": "tool", "tool_call_id": "call_a", "content": '{"status": "shipped", "eta": "2026-11-03"}'}
RESULT_B = {"role": "tool", "tool_call_id": "call_b", "content": '{"name": "Ana"}'}
TOOL_HISTORY = [
    *turn(0),
    {"role": "user", "content": "Where is order 48213?"},
    CALL,
    RESULT_A,
    RESULT_B,
    {"role": "assistant", "content": "Ana, your order shipped and arrives on 3 November."},
    *turn(1),
]


def test_tool_call_and_results_are_never_split() -> None:
    floor = full_cost("sys", [], "ok")
    total = full_cost("sys", TOOL_HISTORY, "ok")
    seen_kept_lengths = set()
    for budget in range(floor - 5, total + 2):
        plan = build_messages(system="sys", history=TOOL_HISTORY, user_content="ok", token_budget=budget)
        kept = plan.messages[1:-1]
        seen_kept_lengths.add(len(kept))
        assert plan.trimmed + kept == TOOL_HISTORY
        if kept:
            assert kept[0]["role"] != "tool"
        for index, message in enumerate(kept):
            if message["role"] == "tool":
                assert kept[index - 1] is CALL or kept[index - 1]["role"] == "tool"
        assert (CALL in kept) == (RESULT_A in kept) == (RESULT_B in kept)
        if budget >= floor:
            assert plan.prompt_tokens <= budget
    # the call and its results go in one step: 6 kept (…, answer, turn 1) then straight to 3 (answer, turn 1)
    assert 6 in seen_kept_lengths and 3 in seen_kept_lengths
    assert not {4, 5} & seen_kept_lengths


def test_orphaned_tool_results_at_the_start_are_dropped() -> None:
    history = [RESULT_A, RESULT_B, *turn(0)]
    plan = build_messages(system="sys", history=history, user_content="ok", token_budget=100_000)
    assert plan.trimmed == [RESULT_A, RESULT_B]
    assert plan.messages[1:-1] == turn(0)


def test_history_for_summary_renders_plain_text() -> None:
    rendered = history_for_summary(
        [
            {"role": "user", "content": "¿Dónde está mi pedido 48213?"},
            CALL,
            {**RESULT_A, "name": "get_order"},
            {"role": "assistant", "content": "  Llega el 3 de noviembre.  "},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Mira esta foto"},
                    {"type": "image_url", "image_url": {"url": "x"}},
                ],
            },
        ]
    )
    assert rendered == (
        "User: ¿Dónde está mi pedido 48213?\n"
        'Assistant called tool get_order({"id": "48213"})\n'
        'Assistant called tool get_customer({"email": "a@b.c"})\n'
        'Tool result (get_order): {"status": "shipped", "eta": "2026-11-03"}\n'
        "Assistant: Llega el 3 de noviembre.\n"
        "User: Mira esta foto [image]"
    )
    assert history_for_summary([]) == ""


def test_summary_instruction_asks_for_a_concise_running_summary_in_the_conversation_language() -> None:
    text = SUMMARY_INSTRUCTION.lower()
    assert "previous summary" in text
    assert "concise" in text
    assert "language" in text


@pytest.mark.parametrize("budget", [0, -5])
def test_non_positive_budget_keeps_only_system_and_user(budget: int) -> None:
    plan = build_messages(system="sys", history=HISTORY, user_content="ok", token_budget=budget)
    assert [m["role"] for m in plan.messages] == ["system", "user"]
    assert plan.trimmed == HISTORY
