"""The promotion gate: moving a protected label of a prompt named in `evals.promotion` needs
the rule's suite to pass with the version being promoted as its target. The prompt registry
calls it through its `PromotionGate` hook, so prompts never imports evals."""

from __future__ import annotations

from pathlib import Path

from llmdeck.config import PromotionRule
from llmdeck.errors import ConfigError, Forbidden
from llmdeck.evals.service import Evals
from llmdeck.evals.suite import load_suite
from llmdeck.evals.targets import TargetSpec
from llmdeck.prompts import Promotion, PromotionGate


def promotion_gate(evals: Evals, rules: tuple[PromotionRule, ...], base: Path) -> PromotionGate:
    """A gate for `Prompts.add_gate`; suite paths are relative to `base` (the config's folder)."""

    async def gate(promotion: Promotion) -> None:
        for rule in rules:
            if rule.prompt != promotion.name or rule.label != promotion.label:
                continue
            path = Path(rule.suite) if Path(rule.suite).is_absolute() else base / rule.suite
            try:
                suite = load_suite(path)
                target = TargetSpec(
                    prompt=promotion.name, version=promotion.version, model=suite.spec.target.model
                )
                outcome = await evals.run_suite(suite, target=target)
            except ConfigError as exc:
                raise Forbidden(
                    f"cannot check promotion suite {path}: {exc}", code="promotion_refused"
                ) from None
            if outcome.passed:
                continue
            reasons = list(outcome.failures)
            if outcome.errors:
                reasons.append(f"{outcome.errors} items failed to run")
            raise Forbidden(
                f"moving {promotion.label!r} of {promotion.name!r} to v{promotion.version} needs "
                f"suite {rule.suite} to pass (run {outcome.run.id}): " + "; ".join(reasons),
                code="promotion_refused",
            )

    return gate
