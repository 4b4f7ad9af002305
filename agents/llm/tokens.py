"""Token estimates that need no tokenizer download (tiktoken fetches its tables at run time)."""

from __future__ import annotations

import json
import math
from typing import Any

CHARS_PER_TOKEN = 4
"""The usual rule of thumb for English text and JSON with BPE tokenizers."""


def estimate_tokens(value: Any) -> int:
    """Roughly how many tokens a string, or a JSON-able value serialised compactly, costs."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_request_tokens(body: dict[str, Any]) -> int:
    """Prompt tokens of a chat-completions request: messages, tools and the response format."""
    parts = {k: body[k] for k in ("messages", "tools", "response_format") if k in body}
    return estimate_tokens(parts)
