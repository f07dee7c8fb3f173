"""Reading what a model wrote back when it was asked for JSON (a judge's verdict, a reranker's
order, a drafted test item): models wrap the object in prose or a code fence."""

from __future__ import annotations

import json
import re
from typing import Any

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def json_object(reply: str) -> dict[str, Any] | None:
    """The JSON object from the first `{` to the last `}` of `reply`, or None when there is
    none or it does not parse."""
    match = _OBJECT.search(reply)
    if match is None:
        return None
    try:
        data = json.loads(match.group())
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None
