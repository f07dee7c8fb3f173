"""`Prompts`: the registry as the server, the gateway and the canary controller use it.

It adds policy to the storage in `registry.py`: protected labels (moving them needs the admin
key), promotion gates (hooks a protected label must pass, e.g. a passing evaluation suite),
rollback through the label history, and a short-lived in-memory cache for resolving a label to a
version on the gateway's path (invalidated at once by writes in this process; other replicas see
a move within `cache_ttl`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from llmdeck.config import PromptsSettings
from llmdeck.errors import BadRequest, Forbidden, NotFound
from llmdeck.prompts.canary import choose, previous_targets, split
from llmdeck.prompts.diff import VersionDiff, diff_versions
from llmdeck.prompts.model import (
    LATEST,
    VERSIONISH,
    CanaryPlan,
    CanaryState,
    LabelEvent,
    LabelState,
    Prompt,
    PromptSpec,
    PromptVersion,
    RenderedPrompt,
    Target,
    check_label,
    targets_text,
)
from llmdeck.prompts.registry import Registry
from llmdeck.store import Store

_VERSIONS_CACHED = 2048
_LABELS_CACHED = 10_000


class Actor(Protocol):
    """Who asks: a name for the history, and whether they hold the admin key."""

    @property
    def name(self) -> str: ...

    @property
    def admin(self) -> bool: ...


@dataclass(frozen=True)
class System:
    """The registry acting on its own (the canary controller)."""

    name: str = "canary-controller"
    admin: bool = True


@dataclass(frozen=True)
class Promotion:
    """A protected label about to send traffic to `version` (what a gate decides on)."""

    name: str
    label: str
    version: int
    targets: list[Target]
    actor: str


PromotionGate = Callable[[Promotion], Awaitable[None]]
"""The promotion gate: raise `errors.Forbidden` naming why, to refuse moving a protected label.
The evaluation capability registers one requiring a passing suite (`Prompts.add_gate`)."""


@dataclass(frozen=True)
class LabelChange:
    """What happened to one label during a push."""

    label: str
    before: str
    after: str
    moved: bool
    refused: str | None = None


@dataclass(frozen=True)
class PushResult:
    """The outcome of storing a version: new or unchanged, and what its labels did."""

    version: PromptVersion
    created: bool
    labels: list[LabelChange]


@dataclass(frozen=True)
class Resolved:
    """A request's prompt: the version chosen, and the label that chose it."""

    version: PromptVersion
    label: str | None


class Prompts:
    """Versions, labels, rollback, canaries and cached resolution, with their policies."""

    def __init__(self, store: Store, settings: PromptsSettings | None = None) -> None:
        self.registry = Registry(store)
        self.settings = settings or PromptsSettings()
        self.gates: list[PromotionGate] = []
        self._labels: dict[tuple[str, str], tuple[float, LabelState | None]] = {}
        self._versions: OrderedDict[tuple[str, int], PromptVersion] = OrderedDict()

    def add_gate(self, gate: PromotionGate) -> None:
        """Require `gate` to pass before a protected label moves to a version."""
        self.gates.append(gate)

    # reading

    async def list_prompts(self) -> list[Prompt]:
        """Every prompt with its labels."""
        return await self.registry.prompts()

    async def prompt(self, name: str) -> Prompt:
        """One prompt with its labels."""
        return await self.registry.prompt(name)

    async def versions(self, name: str) -> list[PromptVersion]:
        """Every version, newest first."""
        return await self.registry.versions(name)

    async def version(self, name: str, version: int) -> PromptVersion:
        """One version (cached: versions never change)."""
        key = (name, version)
        found = self._versions.get(key)
        if found is None:
            found = await self.registry.version(name, version)
            self._versions[key] = found
            if len(self._versions) > _VERSIONS_CACHED:
                self._versions.popitem(last=False)
        return found

    async def label(self, name: str, label: str) -> LabelState:
        """Where a label points; NotFound names the prompt or the label."""
        state = await self.registry.label(name, label)
        if state is None:
            await self.registry.prompt(name)
            raise NotFound(f"prompt {name!r} has no label {label!r}", code="label_not_found")
        return state

    async def lookup(self, name: str, ref: str) -> PromptVersion:
        """A version by reference: `3`, `v3`, or a label (its stable version)."""
        if VERSIONISH.match(ref):
            return await self.version(name, int(ref.lstrip("v")))
        return await self.version(name, (await self.label(name, ref)).version)

    async def resolve(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        user: str | None = None,
    ) -> Resolved:
        """The version a request gets: `version`, or the label's (default `production`) choice
        for `user`. Cheap: labels are cached for `cache_ttl`, versions for good."""
        if version is not None:
            return Resolved(await self.version(name, version), None)
        label = label or self.settings.default_label
        state = await self._cached_label(name, label)
        if state is None:
            await self.registry.prompt(name)
            raise NotFound(
                f"prompt {name!r} has no label {label!r}; name another label or a version",
                code="label_not_found",
                param="prompt.label",
            )
        chosen = choose(name, label, state.targets, user)
        return Resolved(await self.version(name, chosen), label)

    async def _cached_label(self, name: str, label: str) -> LabelState | None:
        key = (name, label)
        now = time.monotonic()
        hit = self._labels.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        state = await self.registry.label(name, label)
        if len(self._labels) >= _LABELS_CACHED:  # callers may ask for any label name
            self._labels.clear()
        self._labels[key] = (now + self.settings.cache_ttl, state)
        return state

    def render(self, found: Resolved, variables: dict[str, Any]) -> RenderedPrompt:
        """Render a resolved version within the configured limits."""
        return found.version.render(
            variables,
            label=found.label,
            max_chars=self.settings.max_render_chars,
            timeout=self.settings.render_timeout,
        )

    async def history(self, name: str, label: str | None = None) -> list[LabelEvent]:
        """Label moves, oldest first."""
        await self.registry.prompt(name)
        return await self.registry.history(name, label)

    async def diff(self, name: str, a: str, b: str) -> VersionDiff:
        """Messages and parameters of two versions (`3`, `v3` or a label), compared."""
        return diff_versions(await self.lookup(name, a), await self.lookup(name, b))

    # writing

    async def push(self, spec: PromptSpec, actor: Actor) -> PushResult:
        """Store a version (unless it equals the newest) and point `spec.labels` at it."""
        version, created = await self.registry.create_version(spec, actor.name)
        self.forget(spec.name)
        changes = []
        reason = f"push by {spec.author}" if spec.author else "push"
        for label in spec.labels:
            changes.append(await self._push_label(version, label, actor, reason))
        return PushResult(version, created, changes)

    async def _push_label(
        self, version: PromptVersion, label: str, actor: Actor, reason: str
    ) -> LabelChange:
        state = await self.registry.label(version.name, label)
        before = targets_text(state.targets if state else None)
        if state is not None and [t.version for t in state.targets] == [version.version]:
            return LabelChange(label, before, before, moved=False)
        try:
            after = await self.move(version.name, label, version.version, actor, reason=reason)
        except (Forbidden, BadRequest) as exc:
            return LabelChange(label, before, before, moved=False, refused=exc.message)
        return LabelChange(label, before, targets_text(after.targets), moved=True)

    async def move(
        self, name: str, label: str, version: int, actor: Actor, *, reason: str | None = None
    ) -> LabelState:
        """Point `label` at one version (ends any split or canary on it)."""
        return await self.set_targets(name, label, [Target(version=version)], actor, reason=reason)

    async def set_targets(
        self,
        name: str,
        label: str,
        targets: list[Target],
        actor: Actor,
        *,
        reason: str | None = None,
        canary: CanaryState | None = None,
        action: str | None = None,
    ) -> LabelState:
        """Point `label` at versions by weight (a manual A/B split), after the policies."""
        check_label(label)
        if label == LATEST:
            raise BadRequest("'latest' always points at the newest version", param="label")
        if not targets:
            raise BadRequest("a label needs at least one version", param="targets")
        if len({t.version for t in targets}) != len(targets):
            raise BadRequest("each version may appear once in a split", param="targets")
        await self._guard(name, label, targets, actor)
        action = action or ("move" if len(targets) == 1 else "split")
        state = await self.registry.move(
            name, label, targets, action=action, actor=actor.name, reason=reason, canary=canary
        )
        self.forget(name)
        assert state is not None
        return state

    async def start_canary(
        self, name: str, label: str, plan: CanaryPlan, actor: Actor
    ) -> LabelState:
        """Send the plan's first share of `label`'s traffic to `plan.version`; the controller
        widens it from there."""
        current = await self.label(name, label)
        if len(current.targets) != 1:
            raise BadRequest(
                f"label {label!r} already splits its traffic ({targets_text(current.targets)}); "
                "point it at one version first",
                param="label",
            )
        stable = current.targets[0].version
        if stable == plan.version:
            raise BadRequest(f"label {label!r} already points at v{plan.version}", param="version")
        state = CanaryState(plan=plan, stable=current.targets, step=0, step_started=time.time())
        targets = split(stable, plan.version, plan.steps[0])
        reason = f"canary v{plan.version} at {plan.steps[0]:.0%}"
        return await self.set_targets(
            name, label, targets, actor, reason=reason, canary=state, action="canary-start"
        )

    async def rollback(self, name: str, label: str, actor: Actor) -> LabelState:
        """Move `label` back where it pointed before its last move (and further back each time).
        Protected labels still need the admin key; gates do not apply to going back."""
        check_label(label)
        self._protect(label, actor)
        current = await self.label(name, label)
        target = previous_targets(await self.history(name, label))
        if not target:
            raise BadRequest(
                f"label {label!r} of {name!r} has no earlier version to roll back to",
                param="label",
            )
        reason = f"rollback from {targets_text(current.targets)}"
        if current.canary is not None:
            reason = f"canary v{current.canary.plan.version} stopped; {reason}"
        state = await self.registry.move(
            name,
            label,
            target,
            action="rollback",
            actor=actor.name,
            reason=reason,
            expected_revision=current.revision,
        )
        if state is None:
            raise BadRequest(f"label {label!r} moved meanwhile; try again", param="label")
        self.forget(name)
        return state

    async def _guard(self, name: str, label: str, targets: list[Target], actor: Actor) -> None:
        self._protect(label, actor)
        if label not in self.settings.protected_labels:
            return
        for target in targets:
            await self.version(name, target.version)  # NotFound before any gate runs
            promotion = Promotion(name, label, target.version, targets, actor.name)
            for gate in self.gates:
                await gate(promotion)

    def _protect(self, label: str, actor: Actor) -> None:
        if label in self.settings.protected_labels and not actor.admin:
            raise Forbidden(
                f"label {label!r} is protected: moving it needs the admin key",
                code="protected_label",
            )

    def forget(self, name: str) -> None:
        """Drop cached labels of `name` (after a move made elsewhere in this process)."""
        for key in [k for k in self._labels if k[0] == name]:
            self._labels.pop(key, None)
