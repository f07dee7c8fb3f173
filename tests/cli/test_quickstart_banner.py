"""The commands quickstart prints are ones a person can paste."""

from __future__ import annotations

import json

from llmdeck.cli.quickstart import TOUR


def test_the_printed_curl_body_is_json() -> None:
    body = TOUR.split("-d '", 1)[1].split("'", 1)[0]
    request = json.loads(body)
    assert request["model"] == "chat" and request["messages"][-1]["role"] == "user"
