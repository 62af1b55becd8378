"""Values as no-code tools send them: conversation ids, chat platforms' payloads, attachments, loose spellings."""

from __future__ import annotations

import json
import mimetypes
import re
from typing import Annotated, Any
from urllib.parse import unquote

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from atende.platform.errors import InvalidRequest

MAX_CONVERSATION_ID_CHARS = 128
MAX_ATTACHMENTS = 10


def _printable(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    for character in value:
        if not character.isprintable():
            raise ValueError(f"character U+{ord(character):04X} is not allowed (only printable text)")
    return value


# Any printable text (phone numbers with `+`, Telegram's negative chat ids, names with spaces and accents), trimmed.
# It only ever ends a DynamoDB key (`CONV#{tenant}#{bot}#{id}`) after two slugs that cannot hold `#`, so no id can
# alias another; in a path it is percent-encoded.
ConversationId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_CONVERSATION_ID_CHARS),
    AfterValidator(_printable),
]
_CONVERSATION_ID: TypeAdapter[str] = TypeAdapter(ConversationId)


def conversation_id_from_path(segment: str) -> str:
    """The conversation id of a path segment, percent-decoded once (API Gateway REST passes it encoded)."""
    try:
        return _CONVERSATION_ID.validate_python(unquote(segment, errors="strict"))
    except UnicodeDecodeError as error:
        raise InvalidRequest("conversation: not valid UTF-8 once percent-decoded.", param="conversation") from error
    except ValidationError as error:
        detail = error.errors()[0].get("msg", "invalid value")
        raise InvalidRequest(f"conversation: {detail}", param="conversation", code="invalid_value") from error


class Attachment(BaseModel):
    """A file the customer sent: its media type and a URL the model provider can fetch."""

    model_config = ConfigDict(extra="ignore")

    content_type: str = Field(default="", max_length=200)
    url: Annotated[str, StringConstraints(max_length=4096, pattern=r"^https?://\S+$")]

    @property
    def is_image(self) -> bool:
        return self.content_type.lower().startswith("image/")


_TYPED_URL = re.compile(r"^(?P<type>[\w.+-]+/[\w.+-]+):(?P<url>https?://\S+)$")


def attachment_value(value: Any) -> Any:
    """RapidPro's `image/jpeg:https://…`, a bare URL (type from its extension), or `{content_type, url}`."""
    if isinstance(value, str):
        value = value.strip()
        if typed := _TYPED_URL.match(value):
            return {"content_type": typed["type"], "url": typed["url"]}
        guessed, _ = mimetypes.guess_type(value.split("?")[0])
        return {"content_type": guessed or "", "url": value}
    return value


def attachments_value(value: Any) -> Any:
    """A list of attachments; from a string: a JSON array (as tools send `history`) or one attachment."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise ValueError(f"not a JSON array ({error.msg})") from error
        else:
            value = [text]
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        return [attachment_value(item) for item in value]
    return value


def chat_platform_fields(data: dict[str, Any]) -> dict[str, Any]:
    """RapidPro/Weni's default "Call Webhook" body, unedited: `input.text` is the message, `input.attachments`
    the attachments, and the contact (its URN, else its UUID) the conversation. Explicit fields win."""
    given = dict(data)
    source = given.get("input")
    if isinstance(source, dict) and given.get("message") in (None, ""):
        given["message"] = source.get("text") or ""
        if given.get("attachments") in (None, "", []):
            given["attachments"] = source.get("attachments")
    if given.get("conversation_id") in (None, ""):
        contact = given.get("contact")
        urn = source.get("urn") if isinstance(source, dict) else None
        if isinstance(contact, dict) and (contact.get("urn") or contact.get("uuid")):
            given["conversation_id"] = contact.get("urn") or contact.get("uuid")
        elif isinstance(urn, dict) and urn.get("scheme") and urn.get("path"):
            given["conversation_id"] = f"{urn['scheme']}:{urn['path']}"
    return given


_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


def decimal_comma(value: Any) -> Any:
    """`"0,7"` (a decimal comma, as Spanish and Portuguese UIs write numbers) is 0.7."""
    if isinstance(value, str) and _DECIMAL_COMMA.match(value):
        return value.replace(",", ".")
    return value


def lower_word(value: Any) -> Any:
    """`"Json"`, `"TEXT"`: enum words are matched case-insensitively (tools' UIs capitalize them)."""
    return value.strip().lower() if isinstance(value, str) and not value.strip().startswith("{") else value
