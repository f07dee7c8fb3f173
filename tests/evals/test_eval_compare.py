"""The paired bootstrap: noise between equivalent runs is not a regression; a real drop is."""

from __future__ import annotations

import numpy as np

from llmdeck.evals import Result, compare


def run(values: list[float | None], name: str = "judge") -> list[Result]:
    return [Result(f"i{n}", n, {}, None, "x", {name: {"value": v}}) for n, v in enumerate(values)]


def noisy(rng: np.random.Generator, p: float, n: int) -> list[float | None]:
    return [float(v) for v in (rng.random(n) < p)]


def test_noise_is_rarely_a_regression_and_a_real_drop_is_caught() -> None:
    false_alarms = 0
    caught = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        base = noisy(rng, 0.7, 60)
        same = noisy(rng, 0.7, 60)  # an equivalent system: same quality, different draws
        worse = [v if rng.random() > 0.35 else 0.0 for v in base]  # loses ~35% of its passes
        false_alarms += bool(compare("a", run(base), "b", run(same), seed=seed).regressions)
        caught += bool(compare("a", run(base), "c", run(worse), seed=seed).regressions)
    assert false_alarms <= 4  # 95% two-sided: about 1 in 40 expected
    assert caught >= 36


def test_unmeasured_items_are_left_out_and_ties_are_not_regressions() -> None:
    a = run([1.0, 1.0, None, 0.5])
    b = run([1.0, 1.0, 0.0, 0.5])
    result = compare("a", a, "b", b)
    (diff,) = result.differences
    assert diff.paired == 3 and diff.delta == 0.0 and not diff.regression
    assert (diff.low, diff.high) == (0.0, 0.0)
    assert compare("a", run([1.0]), "b", run([0.0])).differences[0].delta is None  # too few


def test_seeded_and_paired_by_item_id() -> None:
    rng = np.random.default_rng(3)
    a = run(noisy(rng, 0.6, 40))
    b = list(reversed(run(noisy(rng, 0.5, 40))))  # order must not matter: pairs are by id
    first = compare("a", a, "b", b, seed=11).differences[0]
    again = compare("a", a, "b", b, seed=11).differences[0]
    assert (first.low, first.high) == (again.low, again.high)
    assert first.paired == 40
