"""CR2's cluster rows and level sums are found faster, with the same numbers."""

from __future__ import annotations

import numpy as np

from measurement.bias_reduced import _FixedEffectSpace, bias_reduced_variance


def test_level_sums_of_one_fixed_effect_equal_those_added_row_by_row() -> None:
    rng = np.random.default_rng(0)
    columns = rng.integers(0, 7, (500, 1))
    values = rng.normal(size=(500, 3)) * 1e3
    space = _FixedEffectSpace(
        columns=columns,
        n_levels=7,
        inverse=np.ones(7),
        omega_dd=np.ones(7),
        omega_dx=np.zeros((7, 3)),
    )
    rows = rng.integers(0, 500, 60)
    for subset in (None, rows):
        chosen = values if subset is None else values[subset]
        expected = np.zeros((7, 3))
        np.add.at(expected, columns[:, 0] if subset is None else columns[subset, 0], chosen)
        assert np.array_equal(space.sums(chosen, subset), expected)


def test_each_clusters_rows_are_its_rows_in_ascending_order() -> None:
    rng = np.random.default_rng(1)
    n, g = 900, 30
    codes = rng.integers(0, g, n)
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    bread = np.linalg.inv(x.T @ x)
    result = bias_reduced_variance(
        x=x,
        weights=None,
        residuals=rng.normal(size=n),
        bread=bread,
        cluster_codes=codes,
        n_clusters=g,
        fixed_effect_codes=[],
        n_fixed_effect_levels=[],
    )
    assert len(result.clusters) == g
    for code, rows in enumerate(result.clusters):
        assert np.array_equal(rows, np.flatnonzero(codes == code))
