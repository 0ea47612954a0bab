"""Lee bounds of a block of draws equal the bounds of each draw's weighted rows, one by one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from measurement.attrition import _bounds, _collapsed_rows
from measurement.lee_draws import BLOCK_CELLS, DrawLayout, block_draws


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
