"""How large an answer is as Lambda returns it, against its 6 MB response limit."""

from __future__ import annotations

import json
from typing import Any

LAMBDA_ANSWER_LIMIT_BYTES = 6 * 1024 * 1024
# What an answer that grows with stored data (a conversation, a returned history) may take: under Lambda's
# limit with room for the status, headers and the fields around the list.
ANSWER_BUDGET_BYTES = 5 * 1024 * 1024


def wire_bytes(value: Any) -> int:
    """Bytes `value` takes in the Lambda response: the body is JSON (UTF-8 as is) inside the proxy answer's JSON.

    The runtime encodes that outer document with ASCII escapes, so quotes double and an accented letter takes six
    bytes: counting the body's own length would let a 5 MB body pass Lambda's 6 MB.
    """
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(json.dumps(body)) - 2
