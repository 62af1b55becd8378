"""Bot models: persona, knowledge base, prompts, sampling defaults and the per-bot policies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator

from atende.models.common import ConfigBody, Label, Slug

PromptName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")]
Language = Literal["en", "es", "pt"]  # picks the default texts of atende/chat/texts.py
MAX_DEADLINE_SECONDS = 25  # API Gateway ends a request at 29 s; the turn is stored after the deadline


def _within_gateway_limit(value: float) -> float:
    if value > MAX_DEADLINE_SECONDS:
        raise ValueError(
            f"must be at most {MAX_DEADLINE_SECONDS} s: API Gateway ends a request at 29 s, and after the deadline "
            "the turn is still stored and billed (and a cold start may come first)"
        )
    return value


# The maximum is checked by a validator whose message says why (a bare `le` would not); the schema still shows it.
Deadline = Annotated[
    float,
    Field(ge=1),
    AfterValidator(_within_gateway_limit),
    WithJsonSchema({"type": "number", "minimum": 1, "maximum": MAX_DEADLINE_SECONDS}),
]
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


class JsonSchemaFormat(ConfigBody):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "response"
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool = False


class SamplingDefaults(ConfigBody):
    """OpenAI's sampling parameters, in OpenAI's ranges; None means the provider's default."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=128_000)
    response_format: Literal["text", "json"] | JsonSchemaFormat = "text"


class HistorySettings(ConfigBody):
    max_history_tokens: int = Field(default=4_000, ge=0, le=200_000, description="History budget per turn.")
    summarize: bool = Field(default=False, description="Fold trimmed turns into a running summary.")


class ModerationPolicy(ConfigBody):
    mode: Literal["off", "input", "output", "both"] = "off"
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="Per-category score at or above which a text is refused."
    )
    on_flagged_input: Literal["refuse", "handoff"] = "refuse"
    refusal_message: Label | None = Field(default=None, description="Null: the default of the bot's language.")
    fail_mode: Literal["open", "closed"] = Field(
        default="open", description="When moderation itself fails: open lets the text through, closed refuses it."
    )

    @field_validator("thresholds")
    @classmethod
    def _known_categories(cls, value: dict[str, float]) -> dict[str, float]:
        aliases = {c.replace("/", "_").replace("-", "_") for c in MODERATION_CATEGORIES}
        for category, score in value.items():
            if category not in MODERATION_CATEGORIES and category not in aliases:
                raise ValueError(f"unknown moderation category '{category}'")
            if not 0 <= score <= 1:
                raise ValueError(f"threshold for '{category}' must be between 0 and 1")
        return value


class HandoffSettings(ConfigBody):
    keywords: list[Annotated[str, StringConstraints(min_length=2, max_length=100)]] = Field(
        default_factory=list, max_length=100
    )
    sentinel: str | None = Field(default=None, max_length=32, description="A marker the rules ask the model to emit.")
    tool: bool = Field(default=False, description="Offer the model a `handoff` tool.")
    on_upstream_failure: bool = True
    message: Label | None = Field(default=None, description="Null: the default of the bot's language.")
    on_limit_refusal: Literal["handoff", "error"] = Field(
        default="handoff",
        description=(
            "What a webhook caller gets when the tenant is over a budget or quota, or suspended: a handoff "
            "(200, `handoff_reason` `budget_exhausted` / `tenant_suspended`, with `limit_message`) or the "
            "429 / 403 error. The OpenAI-compatible route always answers the error."
        ),
    )
    limit_message: Label | None = Field(
        default=None, description="The handoff text of a limit refusal; null: the default of the bot's language."
    )


class InstantAnswer(ConfigBody):
    questions: list[Annotated[str, StringConstraints(min_length=2, max_length=500)]] = Field(
        min_length=1, max_length=20
    )
    answer: Annotated[str, StringConstraints(min_length=1, max_length=4_000)]


class FallbackProvider(ConfigBody):
    provider: Slug = Field(description="Name of a stored credential (PUT /v1/credentials/{provider}).")
    model: ModelName | None = Field(default=None, description="Model at that provider; the bot's model if omitted.")


class BotSettings(ConfigBody):
    """Everything an admin configures on a bot."""

    name: Label | None = None
    language: Language = Field(default="en", description="Picks the default handoff, refusal and limit texts.")
    enabled: bool = True
    model: ModelName = "gpt-4o-mini"
    provider: Slug = "openai"
    rules: str = Field(default="", max_length=20_000, description="The persona: how the bot behaves.")
    knowledge_base: str = Field(default="", description="Facts the bot answers from; size bounded per tenant.")
    prompts: dict[PromptName, Annotated[str, StringConstraints(min_length=1, max_length=20_000)]] = Field(
        default_factory=dict, max_length=50
    )
    default_prompts: list[PromptName] = Field(default_factory=list, max_length=20)
    sampling: SamplingDefaults = Field(default_factory=SamplingDefaults)
    history: HistorySettings = Field(default_factory=HistorySettings)
    moderation: ModerationPolicy = Field(default_factory=ModerationPolicy)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    instant_answers: list[InstantAnswer] = Field(default_factory=list, max_length=200)
    fallbacks: list[FallbackProvider] = Field(default_factory=list, max_length=5)
    redact_pii: bool = False
    deadline_seconds: Deadline | None = Field(default=None, description="Per-call deadline, 1 to 25 s.")

    @field_validator("default_prompts")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("default_prompts must not repeat a name")
        return value


class BotCreate(BotSettings):
    id: Slug


class BotReplace(BotSettings):
    """A whole bot; what GET returned can be sent back as is (its read-only fields are ignored)."""

    version: int | None = Field(default=None, ge=1, description="The version you read; or send If-Match.")
    id: str | None = Field(default=None, description="Read-only; must match the path when sent.")
    created_at: str | None = Field(default=None, description="Read-only; ignored.")
    updated_at: str | None = Field(default=None, description="Read-only; ignored.")


MergedObject = Annotated[
    dict[str, Any], Field(description="Merged key by key into the bot's object; null in it resets that key.")
]


class BotPatch(ConfigBody):
    """A JSON Merge Patch (RFC 7386) of a bot: only what is sent changes, nested objects merge, arrays replace,
    and `null` resets a field (at any depth) to its default.

    Top-level types are checked here; the objects are checked once merged, so a 400 names the field of the merged
    bot that is wrong (`sampling.temperature`). Every field of BotSettings has its entry (a unit test keeps it so).
    """

    version: int | None = Field(default=None, ge=1, description="The version you read; or send If-Match.")
    name: Label | None = None
    language: Language | None = None
    enabled: bool | None = None
    model: ModelName | None = None
    provider: Slug | None = None
    rules: str | None = Field(default=None, max_length=20_000)
    knowledge_base: str | None = None
    prompts: MergedObject | None = None
    default_prompts: list[PromptName] | None = Field(default=None, max_length=20)
    sampling: MergedObject | None = None
    history: MergedObject | None = None
    moderation: MergedObject | None = None
    handoff: MergedObject | None = None
    instant_answers: list[InstantAnswer] | None = Field(default=None, max_length=200)
    fallbacks: list[FallbackProvider] | None = Field(default=None, max_length=5)
    redact_pii: bool | None = None
    deadline_seconds: Deadline | None = Field(default=None, description="Per-call deadline, 1 to 25 s.")

    def merge_patch(self) -> dict[str, Any]:
        """The patch document as sent (explicit nulls kept, `version` left out)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"version"})


class Bot(BotSettings):
    """A stored bot; unknown stored fields are ignored so older code reads newer items."""

    model_config = ConfigDict(extra="ignore")

    id: str
    version: int
    created_at: str
    updated_at: str

    @field_validator("deadline_seconds", mode="before")
    @classmethod
    def _stored_before_the_limit(cls, value: Any) -> Any:
        """A bot stored when 28 s was allowed still loads: it runs with the longest deadline allowed now."""
        return min(float(value), MAX_DEADLINE_SECONDS) if isinstance(value, int | float | Decimal) else value
