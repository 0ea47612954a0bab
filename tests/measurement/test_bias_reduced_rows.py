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


def test_cr2_degrees_of_freedom_asked_for_are_each_terms_satterthwaite_df() -> None:
    import pandas as pd

    from measurement.linear_model import fit_linear_model

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(12), 15)})
    frame["stratum"] = frame["cluster"] % 3
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["age"] = rng.normal(40, 10, len(frame))
    frame["outcome"] = 0.3 * frame["treated"] + rng.normal(size=len(frame))
    common = dict(outcome="outcome", regressors=["treated", "age"], cluster="cluster")
    fit = fit_linear_model(frame, fixed_effects=["stratum"], vcov="CR2", **common)
    assert fit.bias_reduced is not None and fit.fixed_degrees_of_freedom is None
    degrees = fit.degrees_of_freedom
    assert degrees is not None and list(degrees.index) == ["treated", "age"]
    for position, name in enumerate(degrees.index):
        unit = np.eye(2)[position]
        assert degrees[name] == fit.bias_reduced.contrast_df(unit) == fit.term(name)["df"]
        assert 1 < degrees[name] < 11
    normal = fit_linear_model(frame, vcov="CR2", reference="normal", **common)
    assert normal.degrees_of_freedom is not None
    assert np.isinf(normal.degrees_of_freedom).all()
    cr1 = fit_linear_model(frame, **common)
    assert cr1.degrees_of_freedom is not None and (cr1.degrees_of_freedom == 11).all()
