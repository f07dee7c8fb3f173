"""Token estimates for admission control and for providers that report no usage.

About four characters a token for English under OpenAI's and Anthropic's tokenisers; real
usage from the provider replaces the estimate wherever it is reported.
"""

from __future__ import annotations

from llmdeck.gateway.wire.openai import ChatRequest

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4  # role and separators, per message


def estimate_text(text: str) -> int:
    """Tokens in `text`, estimated."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def estimate_prompt(request: ChatRequest) -> int:
    """Input tokens of a chat request, estimated (messages and tool definitions)."""
    total = 3
    for message in request.messages:
        total += MESSAGE_OVERHEAD + estimate_text(message.text())
        for call in message.tool_calls or []:
            total += estimate_text((call.function.name or "") + (call.function.arguments or ""))
    for tool in request.tools or []:
        total += estimate_text(tool.function.model_dump_json())
    return total
