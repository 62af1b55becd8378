"""The worst case of a provider call, in micro-dollars and tokens: what a budget hold reserves before it runs."""

from __future__ import annotations

import json
import math
from typing import Any

from atende.billing.pricing import ModelPrice, worst_case_micros
from atende.models.content import text_of
from atende.providers.tokens import count_message_tokens, count_tokens

# A high-detail image can cost up to ~1,450 tokens on gpt-4o (8 tiles); the "mini" vision models count an image
# as ~33x as many tokens at a lower price. The reservation takes the worst case when it cannot know the size.
IMAGE_WORST_CASE_TOKENS = 1_500
LOW_COST_VISION_MULTIPLIER = 33
PROMPT_MARGIN = 1.05  # providers count a few tokens more than our count (names, tool schema framing)


def reservation_estimate(
    params: dict[str, Any], prices: list[ModelPrice | None], *, extra_prompt_tokens: int = 0
) -> tuple[int, int]:
    """The worst case of a call in micro-dollars (at the priciest target) and in tokens; `extra_prompt_tokens`
    bounds prompt text not in `params` yet (history still being read), with the same margin.

    Counts what the provider bills as prompt: the messages, tool definitions and response schemas, and every
    image at its worst case, plus a margin, so settling the real usage stays within what was reserved.
    """
    messages = params["messages"]
    images = sum(
        1
        for m in messages
        if isinstance(m.get("content"), list)
        for p in m["content"]
        if isinstance(p, dict) and p.get("type") == "image_url"
    )
    text_messages = [{**m, "content": text_of(m.get("content"))} for m in messages]
    extras = [params.get("tools"), params.get("response_format"), params.get("tool_choice")]
    prompt = math.ceil((count_message_tokens(text_messages) + extra_prompt_tokens) * PROMPT_MARGIN) + 64
    prompt += sum(count_tokens(json.dumps(extra)) for extra in extras if extra)
    n, max_output = params.get("n") or 1, params["max_tokens"]
    worst = 0
    for price in prices:
        if price is None:
            continue
        image_tokens = images * IMAGE_WORST_CASE_TOKENS * (LOW_COST_VISION_MULTIPLIER if price.input < 1_000_000 else 1)
        worst = max(
            worst, worst_case_micros(price, prompt_tokens=prompt + image_tokens, max_output_tokens=max_output, n=n)
        )
    return worst, prompt + images * IMAGE_WORST_CASE_TOKENS + n * max_output
