"""The guard stage: the alias's input guards before the call goes on, its output guards on the
reply (complete or streamed). Aliases without guards pass straight through.

Redaction happens in place on `call.request` and on the response the trace records, so no
redacted value reaches the trace store; with `restore`, the client's copy of the answer gets the
values back. Streams with output redaction, blocking or restoring are released sentence by
sentence (each sentence is checked before it is sent); flag-only streams pass unbuffered and are
checked when they end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmdeck.config import GuardsConfig, Settings
from llmdeck.errors import ConfigError, Problem
from llmdeck.gateway.call import OPEN, Call, ChunkStream, Reply
from llmdeck.gateway.pipeline import Next
from llmdeck.gateway.wire.openai import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingResponse,
    Message,
)
from llmdeck.guards import (
    Checked,
    Counters,
    DetectorContext,
    Embed,
    Judge,
    Policy,
    Side,
    Vault,
    build_policy,
)

if TYPE_CHECKING:
    from llmdeck.gateway.gateway import Gateway

_BOUNDARY = re.compile(r"[.!?](?=\s)|\n")
FLUSH_CHARS = 2000  # release a sentence-less run of text this long anyway
CONTEXT_ROLES = frozenset({"system", "developer", "user", "tool", "function"})
Slot = tuple[int, int | None, str, str]  # message index, content part index, role, text


def build_policies(
    settings: Settings, context: DetectorContext
) -> tuple[dict[str, Policy], list[Problem]]:
    """One policy per alias that has guards on, and every configuration problem by path."""
    policies: dict[str, Policy] = {}
    problems: list[Problem] = []
    for index, alias in enumerate(settings.models):
        if alias.guards is None or not alias.guards.active:
            continue
        path = f"models[{index}].guards"
        policy, found = build_policy(alias.guards, context, path, settings.source)
        found += _judge_problems(settings, alias.guards, path)
        policies[alias.name] = policy
        problems += found
    return policies, problems


def _judge_problems(settings: Settings, guards: GuardsConfig, path: str) -> list[Problem]:
    problems = []
    for side, rules in (("input", guards.input), ("output", guards.output)):
        for name, rule in rules.items():
            judge = rule.options.get("judge")
            if isinstance(judge, str) and settings.alias(judge) is None:
                where = f"{path}.{side}.{name}.judge"
                problems.append(Problem(where, f"unknown model alias {judge!r}", settings.source))
    return problems


def guard_problems(settings: Settings) -> list[Problem]:
    """What is wrong with the guards configured in `settings` (for `llmdeck config check`)."""
    context = DetectorContext(judge_for=lambda alias: _no_judge)
    return build_policies(settings, context)[1]


async def _no_judge(prompt: str) -> str:
    raise RuntimeError("no judge")


def gateway_judge(gateway: Gateway) -> Callable[[str], Judge]:
    """Judges for the groundedness guard: a prompt sent to a model alias through the gateway."""

    def judge_for(alias: str) -> Judge:
        async def judge(prompt: str) -> str:
            message = Message(role="user", content=prompt)
            request = ChatRequest(model=alias, messages=[message], temperature=0)
            reply = await gateway.handle(gateway.new_call("chat", request, OPEN))
            if not isinstance(reply, ChatResponse) or not reply.choices:
                return ""
            return reply.choices[0].message.text()

        return judge

    return judge_for


def local_embed() -> Embed:
    """The local MiniLM embedder, imported and loaded on first use (only detectors whose
    weights use similarity call it)."""

    def embed(texts: list[str]) -> Any:
        from llmdeck.gateway.providers.local.embedding import get_embedder

        return get_embedder().embed(texts)

    return embed


class GuardStage:
    """Runs each alias's guards; counts what they found in `counters`."""

    def __init__(self, policies: dict[str, Policy]) -> None:
        self.policies = policies
        self.counters = Counters()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        embed: Embed | None = None,
        judge_for: Callable[[str], Judge] | None = None,
    ) -> GuardStage | None:
        """The stage for `settings`, or None when no alias has guards (it would cost a lookup
        per call for nothing). Raises ConfigError naming every bad guard by its path."""
        if not any(a.guards is not None and a.guards.active for a in settings.models):
            return None
        policies, problems = build_policies(settings, DetectorContext(embed, judge_for))
        if problems:
            raise ConfigError(problems)
        return cls(policies)

    async def __call__(self, call: Call, next: Next) -> Reply:
        policy = self.policies.get(call.alias.name)
        if policy is None or call.kind != "chat":
            return await next(call)
        run = _Run(call, policy, self.counters)
        if policy.input:
            await run.check_input()
        reply = await next(call)
        if isinstance(reply, EmbeddingResponse) or not run.checks_output:
            return reply
        if isinstance(reply, ChatResponse):
            return await run.check_response(reply)
        return run.check_stream(reply)


@dataclass
class _Run:
    """The guards' work on one call."""

    call: Call
    policy: Policy
    counters: Counters
    vault: Vault = field(default_factory=Vault)
    recorded: list[str] = field(default_factory=list)  # the answer as the trace may see it

    @property
    def checks_output(self) -> bool:
        """Whether the reply needs looking at: output guards, or placeholders to restore."""
        return bool(self.policy.output) or (self.policy.restores and bool(self.vault))

    async def check_input(self) -> None:
        request = self.call.chat
        slots = list(_slots(request))
        checked = await self.policy.check("input", [(s[2], s[3]) for s in slots], self.vault)
        if any(new != slot[3] for new, slot in zip(checked.texts, slots, strict=True)):
            self.call.request = _rewrite(request, slots, checked.texts)
        self._note("input", checked)
        if checked.blocked is not None:
            raise checked.blocked

    def _context(self) -> str:
        return "\n".join(s[3] for s in _slots(self.call.chat) if s[2] in CONTEXT_ROLES)

    async def _output(self, text: str) -> str:
        """One piece of answer through the output guards; what the client gets."""
        if self.policy.output:
            checked = await self.policy.check(
                "output", [("assistant", text)], self.vault, self._context()
            )
            self._note("output", checked)
            if checked.blocked is not None:
                raise checked.blocked
            text = checked.texts[0]
        self.recorded.append(text)
        return self.vault.restore(text) if self.policy.restores else text

    async def check_response(self, reply: ChatResponse) -> ChatResponse:
        if not reply.choices or not isinstance(reply.choices[0].message.content, str):
            return reply
        clear = await self._output(reply.choices[0].message.content)
        kept = _with_text(reply, self.recorded[-1])
        self.call.on_end(lambda call: setattr(call, "response", kept))
        return _with_text(reply, clear)

    def check_stream(self, upstream: ChunkStream) -> ChunkStream:
        if not self.policy.streams_buffered and not (self.policy.restores and self.vault):
            return self._flag_stream(upstream)
        self.call.on_end(self._keep_recorded)
        return self._sentence_stream(upstream)

    def _keep_recorded(self, call: Call) -> None:
        """The trace gets the answer as released before restoring (placeholders, redactions)."""
        response = call.response
        if isinstance(response, ChatResponse) and response.choices:
            call.response = _with_text(response, "".join(self.recorded) or None)

    async def _flag_stream(self, upstream: ChunkStream) -> ChunkStream:
        parts: list[str] = []
        try:
            async for chunk in upstream:
                parts.append(_text(chunk))
                yield chunk
        finally:
            await upstream.aclose()
        await self._output("".join(parts))

    async def _sentence_stream(self, upstream: ChunkStream) -> ChunkStream:
        pending = ""
        last: ChatChunk | None = None
        try:
            async for chunk in upstream:
                last = chunk
                if not chunk.choices:
                    yield chunk
                    continue
                pending += _text(chunk)
                final = chunk.choices[0].finish_reason is not None
                cut = len(pending) if final else _cut(pending)
                release, pending = pending[:cut], pending[cut:]
                yield _with_delta(chunk, await self._output(release) if release else "")
            if pending and last is not None:
                yield _with_delta(last, await self._output(pending), finish=False)
        finally:
            await upstream.aclose()

    def _note(self, side: Side, checked: Checked) -> None:
        if not checked.results:
            return
        self.counters.add(checked.results)
        notes: list[dict[str, Any]] = self.call.attributes.setdefault("guards", [])
        notes.extend(r.as_dict() for r in checked.results)


def _cut(text: str) -> int:
    """How much of `text` can be released: up to its last sentence end."""
    ends = [m.end() for m in _BOUNDARY.finditer(text)]
    if ends:
        return ends[-1]
    return len(text) if len(text) >= FLUSH_CHARS else 0


def _slots(request: ChatRequest) -> list[Slot]:
    out: list[Slot] = []
    for index, message in enumerate(request.messages):
        if isinstance(message.content, str):
            out.append((index, None, message.role, message.content))
        elif isinstance(message.content, list):
            for part_index, part in enumerate(message.content):
                if part.get("type") == "text" and isinstance(part.get("text"), str):
                    out.append((index, part_index, message.role, part["text"]))
    return out


def _rewrite(request: ChatRequest, slots: list[Slot], texts: list[str]) -> ChatRequest:
    messages = list(request.messages)
    for (index, part, _, old), new in zip(slots, texts, strict=True):
        if new == old:
            continue
        message = messages[index]
        if part is None:
            messages[index] = message.model_copy(update={"content": new})
        else:
            content = message.content if isinstance(message.content, list) else []
            parts = [dict(p) for p in content]
            parts[part]["text"] = new
            messages[index] = message.model_copy(update={"content": parts})
    return request.model_copy(update={"messages": messages})


def _text(chunk: ChatChunk) -> str:
    return next((c.delta.content or "" for c in chunk.choices if not c.index), "")


def _with_delta(chunk: ChatChunk, text: str, *, finish: bool = True) -> ChatChunk:
    choices = []
    for choice in chunk.choices:
        if choice.index:
            choices.append(choice)
            continue
        delta = choice.delta.model_copy(update={"content": text})
        update: dict[str, Any] = {"delta": delta}
        if not finish:
            update["finish_reason"] = None
        choices.append(choice.model_copy(update=update))
    return chunk.model_copy(update={"choices": choices})


def _with_text(response: ChatResponse, text: str | None) -> ChatResponse:
    first = response.choices[0]
    message: Message = first.message.model_copy(update={"content": text})
    choices = [first.model_copy(update={"message": message}), *response.choices[1:]]
    return response.model_copy(update={"choices": choices})
