"""Routing settings in llmdeck.yaml: defaults, and errors named by path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmdeck.config import load_settings
from llmdeck.errors import ConfigError

GOOD = """\
models:
  - name: chat
    routing: least-latency
    retries: 1
    deadline: 20
    backoff: {initial: 0.1, max_retry_after: 5}
    circuit: {window: 10, cooldown: 3}
    health_check: {interval: 30, kind: chat}
    deployments: [{provider: local, model: extractive, max_parallel: 4}]
  - name: auto
    routing: complexity
    tiers: {simple: chat, complex: chat}
    complexity:
      threshold: 0.6
      examples: [{text: "draft the board memo", tier: complex}]
"""


def test_routing_settings_load_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "llmdeck.yaml"
    path.write_text(GOOD)
    settings = load_settings(path, {})
    chat, auto = settings.models
    assert (chat.retries, chat.deadline, chat.queue_timeout) == (1, 20, 5.0)
    assert (chat.backoff.initial, chat.backoff.multiplier, chat.backoff.max_retry_after) == (
        0.1,
        2.0,
        5.0,
    )
    assert (chat.circuit.window, chat.circuit.min_requests, chat.circuit.cooldown) == (10, 10, 3)
    assert chat.health_check is not None and chat.health_check.timeout == 5.0
    assert auto.complexity.threshold == 0.6 and auto.complexity.examples[0].tier == "complex"


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("cooldown: 3}", "failure_rte: 0.3}", "models[0].circuit.failure_rte", "unknown key"),
        ("retries: 1", "retries: 99", "models[0].retries", "less than or equal to 10"),
        ("kind: chat}", "kind: ping}", "models[0].health_check.kind", "'chat'"),
        ("tier: complex}", "tier: hard}", "models[1].complexity.examples[0].tier", "'simple'"),
    ],
)
def test_bad_routing_settings_are_named(
    tmp_path: Path, old: str, new: str, where: str, message: str
) -> None:
    path = tmp_path / "llmdeck.yaml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    (problem,) = caught.value.problems
    assert problem.path == where and message in problem.message and problem.line is not None


def test_a_deployment_name_is_one_deployment(tmp_path: Path) -> None:
    path = tmp_path / "llmdeck.yaml"
    path.write_text(
        "models:\n"
        "  - {name: a, deployments: [{provider: local, model: extractive, name: same}]}\n"
        "  - {name: b, deployments: [{provider: local, model: other, name: same}]}\n"
    )
    with pytest.raises(ConfigError, match="'same' is used by 'a' and 'b' with different"):
        load_settings(path, {})
