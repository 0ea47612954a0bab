"""Lee bounds of a block of draws equal the bounds of each draw's weighted rows, one by one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from measurement.attrition import _bounds, _collapsed_rows
from measurement.lee_draws import BLOCK_CELLS, DrawLayout, _ArmRows, _trimmed_means, block_draws


def _one_draw_at_a_time(rows: tuple[Any, ...], copies: np.ndarray, stratified: bool) -> np.ndarray:
    """The former bootstrap loop: each draw's drawn rows, weighted by their unit's copies."""
    y, treated, observed, units, weights, strata = rows
    n_strata = int(strata.max()) + 1 if stratified else 0
    out = np.full((copies.shape[0], 2), np.nan)
    for draw, counts in enumerate(copies):
        per_row = counts[units]
        drawn = per_row > 0
        arms = treated[drawn]
        cells = None
        if stratified:
            sizes = np.bincount(strata[drawn], minlength=n_strata)
            stops = np.cumsum(sizes)
            cells = list(zip((stops - sizes).tolist(), stops.tolist(), strict=True))
        if not (arms == 1).any() or not (arms == 0).any():
            continue
        out[draw] = _bounds(
            y[drawn], arms, observed[drawn], per_row[drawn] * weights[drawn], cells, presorted=True
        )[:2]
    return out


@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize("outcome", ["continuous", "rating", "binary"])
def test_a_block_of_draws_gives_the_bounds_of_each_draw_computed_alone(
    stratified: bool, outcome: str
) -> None:
    rng = np.random.default_rng(17)
    n, n_units = 3000, 60
    units = rng.integers(0, n_units, n)
    treated = (units % 2).astype(float)
    strata = (units // 2) % 3 if stratified else None
    y = {
        "continuous": rng.normal(size=n) + 0.3 * treated,
        "rating": np.clip(np.round(rng.normal(3, 1.2, n)), 1, 5),
        "binary": (rng.random(n) < 0.4).astype(float),
    }[outcome]
    observed = rng.random(n) > 0.1 + 0.15 * treated
    weights = rng.uniform(0.5, 2.0, n)
    rows = _collapsed_rows(y, treated, observed, units, weights, strata)
    layout = DrawLayout.build(*rows, n_units)
    # Some draws leave out whole units of an arm or a stratum; the last draws none of arm 1.
    copies = rng.poisson(1.0, size=(80, n_units)).astype(float)
    copies[-1, 1::2] = 0.0
    expected = _one_draw_at_a_time(rows, copies, stratified)
    found = layout.bounds(copies)
    assert np.isnan(found[-1]).all() and np.isnan(expected[-1]).all()
    np.testing.assert_allclose(found, expected, rtol=1e-12, atol=1e-14)
    assert np.isfinite(found[:-1]).all()


def _layout(n: int) -> DrawLayout:
    rng = np.random.default_rng(2)
    units = np.arange(n)
    rows = _collapsed_rows(
        rng.normal(size=n), (units % 2).astype(float), np.ones(n, dtype=bool), units, None, None
    )
    return DrawLayout.build(*rows, n)


def test_blocks_report_every_fifty_draws_and_shrink_to_keep_their_matrices_small() -> None:
    assert block_draws(_layout(1000), 50) == 50
    wide = _layout(120_000)
    # 60,000 rows an arm: 50 draws would weight 3,000,000 cells; 25 divides 50 and fits.
    assert wide.largest_arm == 60_000
    assert block_draws(wide, 50) == 25
    assert 25 * wide.largest_arm <= BLOCK_CELLS < 50 * wide.largest_arm


def _trimmed_means_with_fresh_arrays(
    copies: np.ndarray, arm: _ArmRows, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The trimmed means as first written: a fresh (draws x rows) array per step."""
    mass = copies[:, arm.unit] * arm.weight[None, :]
    target = (keep * mass.sum(axis=1))[:, None]
    means = []
    for before in (
        np.cumsum(mass, axis=1) - mass,
        np.cumsum(mass[:, ::-1], axis=1)[:, ::-1] - mass,
    ):
        taken = np.clip(target - before, 0.0, mass)
        means.append((taken @ arm.value) / taken.sum(axis=1))
    return means[0], means[1]


@pytest.mark.parametrize("draws", [1, 2, 7, 50])
@pytest.mark.parametrize("rows", [1, 40, 3000])
def test_trimmed_means_in_place_are_bit_for_bit_those_of_fresh_arrays(
    draws: int, rows: int
) -> None:
    rng = np.random.default_rng(draws * 1000 + rows)
    units = 30
    unit = rng.integers(0, units, rows)
    none = np.zeros(units)
    arm = _ArmRows(
        rows=none,
        seen=none,
        total=none,
        observed_total=none,
        observed_sum=none,
        unit=unit,
        weight=rng.uniform(0.2, 3.0, rows),
        value=np.sort(rng.normal(size=rows)),
    )
    copies = rng.integers(0, 4, (draws, units)).astype(float)
    copies[:, unit[0]] += 1
    keep = rng.uniform(0.5, 1.0, draws)
    found = _trimmed_means(copies, arm, keep)
    expected = _trimmed_means_with_fresh_arrays(copies, arm, keep)
    for side, reference in zip(found, expected, strict=True):
        np.testing.assert_array_equal(side, reference)
