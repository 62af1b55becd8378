"""Message content as OpenAI sends it: a string, or a list of content parts."""

from __future__ import annotations

from typing import Any


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
