"""The canary controller: a server background task that moves automatic canaries along.

Each tick looks at every label with a canary in progress: if any check fails, the label goes
back to its stable version (`canary-rollback`, with the checks' reasons); if every check holds
and the step has lasted `step_seconds`, the canary's share widens to the next step, and at the
last step the label points at the canary alone (`canary-promote`). Several replicas may run the
controller: a move applies only if the label has not moved since it was read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from llmdeck.prompts.canary import CanaryCheck, CanaryWindow, Verdict, split
from llmdeck.prompts.model import CanaryState, LabelState, Target
from llmdeck.prompts.service import Prompts, System

log = logging.getLogger(__name__)


class CanaryController:
    """Widens, promotes or rolls back automatic canaries by their checks."""

    def __init__(
        self, prompts: Prompts, checks: Sequence[CanaryCheck], *, actor: System | None = None
    ) -> None:
        self.prompts = prompts
        self.checks = list(checks)
        self.actor = actor or System()

    async def run(self, interval: float) -> None:
        """Tick every `interval` seconds until cancelled; a failing tick is logged, not fatal."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("canary controller tick failed")
            await asyncio.sleep(interval)

    async def tick(self, now: float | None = None) -> list[str]:
        """One pass over every canary; returns what it did, one line per label moved."""
        now = time.time() if now is None else now
        done = []
        for state in await self.prompts.registry.canaries():
            outcome = await self._advance(state, now)
            if outcome:
                done.append(outcome)
        return done

    async def _advance(self, state: LabelState, now: float) -> str | None:
        canary = state.canary
        assert canary is not None
        plan = canary.plan
        stable = canary.stable[0].version
        window = CanaryWindow(
            state.name, state.label, stable, plan.version, canary.step_started, plan
        )
        verdicts: list[Verdict] = [await check(window) for check in self.checks]
        failed = [v.reason for v in verdicts if v.healthy is False]
        if failed:
            reason = f"canary v{plan.version} rolled back: " + "; ".join(failed)
            return await self._apply(state, canary.stable, "canary-rollback", reason, None)
        if (
            any(v.healthy is None for v in verdicts)
            or now - canary.step_started < plan.step_seconds
        ):
            return None
        held = "; ".join(v.reason for v in verdicts) or "no checks"
        step = canary.step + 1
        share = plan.steps[step]
        if share >= 1:
            reason = f"canary v{plan.version} promoted: {held}"
            return await self._apply(
                state, [Target(version=plan.version)], "canary-promote", reason, None
            )
        reason = f"canary v{plan.version} widened to {share:.0%}: {held}"
        moved = canary.model_copy(update={"step": step, "step_started": now})
        return await self._apply(
            state, split(stable, plan.version, share), "canary-step", reason, moved
        )

    async def _apply(
        self,
        state: LabelState,
        targets: list[Target],
        action: str,
        reason: str,
        canary: CanaryState | None,
    ) -> str | None:
        moved = await self.prompts.registry.move(
            state.name,
            state.label,
            targets,
            action=action,
            actor=self.actor.name,
            reason=reason,
            canary=canary,
            expected_revision=state.revision,
        )
        if moved is None:  # another replica moved it first
            return None
        self.prompts.forget(state.name)
        log.info("%s/%s: %s", state.name, state.label, reason)
        return f"{state.name}/{state.label}: {reason}"
