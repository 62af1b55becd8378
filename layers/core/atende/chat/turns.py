"""The request and the result of one chat turn: what every chat endpoint maps to and answers from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from atende.chat.handoff import Handoff
from atende.models.content import text_of

Source = Literal["model", "instant_answer", "handoff", "moderation"]


@dataclass
class TurnRequest:
    """A turn, whichever endpoint it came from (the webhook and the OpenAI-compatible form both map here)."""

    tenant_id: str
    bot_id: str | None  # None: a plain model call without a bot (OpenAI-compatible passthrough)
    request_id: str
    new_messages: list[dict[str, Any]]
    conversation_id: str | None = None
    use_history: bool = True
    client_history: list[dict[str, Any]] | None = None
    extra_system: str | None = None
    prompts: list[str] | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # sampling and pass-through provider parameters
    deadline_seconds: float | None = None
    handoff_on_failure: bool = True  # webhooks answer a handoff; the OpenAI form answers the error
    started: float = field(default_factory=time.monotonic)  # for the GatewayOverhead metric
    # Set while the turn runs, for an answer when storage fails it: the bot it loaded, what the call cost.
    loaded_bot: Any = None
    loaded_tenant: Any = None  # the tenant the turn read (its limits say whether the answer reports a soft limit)
    paid_micros: int = 0
    billing_unresolved: bool = False  # a write that bills the call may still land: the cost cannot be told

    @property
    def text(self) -> str:
        """The text of the new messages, for keyword, FAQ and moderation checks."""
        return "\n".join(text_of(m.get("content")) for m in self.new_messages if m.get("role") == "user").strip()


@dataclass
class TurnResult:
    request_id: str
    conversation_id: str | None
    model: str
    choices: list[dict[str, Any]]
    usage: dict[str, Any]
    prompt_messages: list[dict[str, Any]] = field(default_factory=list)
    past_messages: list[dict[str, Any]] = field(default_factory=list)
    new_messages: list[dict[str, Any]] = field(default_factory=list)
    handoff: Handoff | None = None
    flagged: bool = False
    moderation: list[dict[str, Any]] = field(default_factory=list)
    source: Source = "model"
    cost_micros: int = 0
    max_tokens: int | None = None
    raw: dict[str, Any] | None = None
    anomaly: dict[str, int] | None = None  # the provider reported more than was reserved (billed at the hold)
    billing_unresolved: bool = False  # the answer cannot tell whether the call was billed (see TurnRequest)
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def reply(self) -> str:
        return text_of(self.choices[0]["message"].get("content")) if self.choices else ""

    def record(self) -> dict[str, Any]:
        """What is stored with the turn's reply: how it was answered and billed, never the text again."""
        return {
            "source": self.source,
            "model": self.model,
            "usage": self.usage,
            "cost_micros": self.cost_micros,
            "handoff": self.handoff.reason if self.handoff else None,
            "flagged": self.flagged,
            "moderation": self.moderation,
            **({"anomaly": self.anomaly} if self.anomaly else {}),
        }
