"""wild_cluster_bootstrap: exact agreement with brute-force refits, enumeration, seeds, size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from measurement.linear_model import fit_linear_model, prepare_design
from measurement.wild_bootstrap import (
    _Inversion,
    _precompute,
    bootstrap_weights,
    wild_cluster_bootstrap,
)


def simulate(seed: int, clusters: int = 14, per_cluster: int = 20, effect: float = 0.0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), per_cluster)})
    frame["stratum"] = frame["cluster"] % 3
    frame["treated"] = ((frame["cluster"] // 3) % 2).astype(float)
    frame["x"] = rng.normal(size=len(frame))
    frame["weight"] = rng.uniform(0.5, 2, size=len(frame))
    frame["outcome"] = (
        effect * frame["treated"]
        + frame["x"]
        + frame["stratum"]
        + rng.normal(size=clusters)[frame["cluster"]]
        + rng.normal(size=len(frame))
    )
    return frame


def brute_force_statistics(frame: pd.DataFrame, v: np.ndarray, null: float, weight: str | None):
    """Refit the full model (stratum dummies) on every bootstrap sample: the WCR-11 definition."""
    dummies = pd.get_dummies(frame["stratum"], dtype=float).to_numpy()
    x = np.column_stack([frame["treated"], frame["x"], dummies])
    y = frame["outcome"].to_numpy()
    w = np.ones(len(frame)) if weight is None else frame[weight].to_numpy()
    clusters = frame["cluster"].to_numpy()
    g, n, k = clusters.max() + 1, len(frame), x.shape[1]
    factor = g / (g - 1) * (n - 1) / (n - k)
    restricted = x[:, 1:]
    gamma = np.linalg.solve(
        (restricted * w[:, None]).T @ restricted, (restricted * w[:, None]).T @ (y - null * x[:, 0])
    )
    fitted = restricted @ gamma + null * x[:, 0]
    residual = y - fitted
    inverse = np.linalg.inv((x * w[:, None]).T @ x)
    out = []
    for draw in v:
        star = fitted + residual * draw[clusters]
        beta = inverse @ ((x * w[:, None]).T @ star)
        e = star - x @ beta
        scores = np.array(
            [
                (inverse @ (x[clusters == c] * (w * e)[clusters == c][:, None]).sum(0))[0]
                for c in range(g)
            ]
        )
        out.append((beta[0] - null) / np.sqrt(factor * scores @ scores))
    return np.array(out)


@pytest.mark.parametrize("weight", [None, "weight"])
def test_bootstrap_statistics_equal_brute_force_refits_with_non_nested_fixed_effects(
    weight: str | None,
) -> None:
    frame = simulate(1)
    design = prepare_design(
        frame,
        outcome="outcome",
        regressors=["treated", "x"],
        cluster="cluster",
        fixed_effects=["stratum"],
        weight=weight,
    )
    v, _, _ = bootstrap_weights(14, 25, weights="rademacher", seed=3)
    fast = _Inversion(_precompute(design, 0, "stata"), v).statistics(0.2)
    np.testing.assert_allclose(fast, brute_force_statistics(frame, v, 0.2, weight), rtol=1e-9)


def test_rademacher_weights_are_enumerated_when_two_to_the_g_fits_in_the_draws() -> None:
    matrix, kind, enumerated = bootstrap_weights(10, 9999, weights="rademacher")
    assert (kind, enumerated, matrix.shape) == ("rademacher", True, (1024, 10))
    assert len({tuple(row) for row in matrix}) == 1024


def test_auto_weights_are_webb_below_twelve_clusters() -> None:
    matrix, kind, enumerated = bootstrap_weights(11, 999, seed=1)
    assert (kind, enumerated) == ("webb", False)
    assert set(np.round(np.abs(matrix).ravel() ** 2, 6)) == {0.5, 1.0, 1.5}


def test_enumerated_p_values_are_deterministic_and_seeded_ones_reproducible() -> None:
    frame = simulate(2, clusters=10)
    common = dict(outcome="outcome", regressors=["treated", "x"], term="treated", cluster="cluster")
    first = wild_cluster_bootstrap(frame, **common, weights="rademacher", seed=1)
    second = wild_cluster_bootstrap(frame, **common, weights="rademacher", seed=99)
    assert first.enumerated and first.draws == 1024
    assert first.p_value == second.p_value
    third = wild_cluster_bootstrap(frame, **common, draws=499, seed=5)
    fourth = wild_cluster_bootstrap(frame, **common, draws=499, seed=5)
    assert third == fourth


def test_the_interval_is_where_the_bootstrap_p_value_crosses_alpha() -> None:
    frame = simulate(3, effect=0.5)
    result = wild_cluster_bootstrap(
        frame,
        outcome="outcome",
        regressors=["treated", "x"],
        term="treated",
        cluster="cluster",
        fixed_effects=["stratum"],
        draws=999,
        seed=4,
    )
    for bound in (result.conf_low, result.conf_high):
        inside = wild_cluster_bootstrap(
            frame,
            outcome="outcome",
            regressors=["treated", "x"],
            term="treated",
            cluster="cluster",
            fixed_effects=["stratum"],
            draws=999,
            seed=4,
            null=bound + (1e-4 if bound == result.conf_low else -1e-4),
        )
        outside = wild_cluster_bootstrap(
            frame,
            outcome="outcome",
            regressors=["treated", "x"],
            term="treated",
            cluster="cluster",
            fixed_effects=["stratum"],
            draws=999,
            seed=4,
            null=bound - (1e-4 if bound == result.conf_low else -1e-4),
        )
        assert inside.p_value >= 0.05 > outside.p_value


def test_wild_cluster_bootstrap_rejects_bad_arguments() -> None:
    frame = simulate(4)
    common = dict(outcome="outcome", regressors=["treated", "x"], cluster="cluster")
    with pytest.raises(ValueError, match="term 'arm' is not among the regressors"):
        wild_cluster_bootstrap(frame, **common, term="arm")
    with pytest.raises(ValueError, match="confidence must lie strictly between 0 and 1"):
        wild_cluster_bootstrap(frame, **common, term="treated", confidence=0)
    with pytest.raises(ValueError, match="weights must be 'auto', 'rademacher' or 'webb'"):
        wild_cluster_bootstrap(frame, **common, term="treated", weights="mammen")
    with pytest.raises(ValueError, match="draws must be a positive integer"):
        wild_cluster_bootstrap(frame, **common, term="treated", draws=0)


def rejection_rates(studies: int, clusters: int = 10, draws: int = 999) -> tuple[float, float]:
    """Share of true nulls rejected at 5% by the WCR bootstrap and by CR1 with normal values."""
    boot, normal = 0, 0
    for seed in range(studies):
        rng = np.random.default_rng(50_000 + seed)
        frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), 30)})
        frame["treated"] = (frame["cluster"] < clusters // 2).astype(float)
        frame["outcome"] = rng.normal(size=clusters)[frame["cluster"]] + rng.normal(size=len(frame))
        result = wild_cluster_bootstrap(
            frame,
            outcome="outcome",
            regressors=["treated"],
            term="treated",
            cluster="cluster",
            draws=draws,
            seed=seed,
        )
        boot += result.p_value < 0.05
        normal += 2 * stats.norm.sf(abs(result.statistic)) < 0.05
    return boot / studies, normal / studies


@pytest.mark.slow
def test_with_ten_clusters_the_wild_bootstrap_holds_size_while_normal_cr1_over_rejects() -> None:
    # Webb weights (auto below 12 clusters), B = 999 per study, 1,000 studies.
    boot, normal = rejection_rates(1000)
    assert 0.03 <= boot <= 0.07, (boot, normal)
    assert normal > 0.07, (boot, normal)


def test_fit_and_bootstrap_report_the_same_t_statistic() -> None:
    frame = simulate(5)
    fit = fit_linear_model(
        frame,
        outcome="outcome",
        regressors=["treated", "x"],
        cluster="cluster",
        fixed_effects=["stratum"],
    )
    result = wild_cluster_bootstrap(
        frame,
        outcome="outcome",
        regressors=["treated", "x"],
        term="treated",
        cluster="cluster",
        fixed_effects=["stratum"],
        draws=99,
        seed=1,
    )
    assert result.statistic == pytest.approx(fit.term("treated")["statistic"], rel=1e-10)


def two_fixed_effect_study(seed: int, clusters: int = 12, per_cluster: int = 25):
    """Stratum and enumerator fixed effects; enumerators work across clusters (not nested)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), per_cluster)})
    frame["stratum"] = frame["cluster"] % 3
    frame["treated"] = ((frame["cluster"] // 3) % 2).astype(float)
    frame["enumerator"] = rng.integers(0, 5, size=len(frame))
    frame["x"] = rng.normal(size=len(frame))
    frame["weight"] = rng.uniform(0.5, 2, size=len(frame))
    frame["outcome"] = (
        frame["x"]
        + frame["stratum"]
        + 0.7 * frame["enumerator"]
        + rng.normal(size=clusters)[frame["cluster"]]
        + rng.normal(size=len(frame))
    )
    return frame


def brute_force_with_dummies(
    frame: pd.DataFrame, v: np.ndarray, null: float, weight: str | None, effects: list[str]
) -> np.ndarray:
    """Refit outcome ~ treated + x + dummies of every fixed effect on each bootstrap sample."""
    dummies = [
        pd.get_dummies(frame[name], dtype=float).to_numpy()[:, (1 if i else 0) :]
        for i, name in enumerate(effects)
    ]
    x = np.column_stack([frame["treated"], frame["x"], *dummies])
    y = frame["outcome"].to_numpy()
    w = np.ones(len(frame)) if weight is None else frame[weight].to_numpy()
    clusters = frame["cluster"].to_numpy()
    g = clusters.max() + 1
    restricted = x[:, 1:]
    gamma = np.linalg.lstsq(
        (restricted * w[:, None]).T @ restricted,
        (restricted * w[:, None]).T @ (y - null * x[:, 0]),
        rcond=None,
    )[0]
    fitted = restricted @ gamma + null * x[:, 0]
    residual = y - fitted
    inverse = np.linalg.inv((x * w[:, None]).T @ x)
    out = []
    for draw in v:
        star = fitted + residual * draw[clusters]
        beta = inverse @ ((x * w[:, None]).T @ star)
        e = star - x @ beta
        scores = np.array(
            [
                (inverse @ (x[clusters == c] * (w * e)[clusters == c][:, None]).sum(0))[0]
                for c in range(g)
            ]
        )
        # The CR1 factor is common to every draw and to the observed t: it cancels in the
        # p-value, so the comparison is on the unscaled ratio.
        out.append((beta[0] - null) / np.sqrt(scores @ scores))
    return np.array(out)


@pytest.mark.parametrize("weight", [None, "weight"])
def test_bootstrap_statistics_equal_brute_force_refits_with_two_non_nested_fixed_effects(
    weight: str | None,
) -> None:
    frame = two_fixed_effect_study(11)
    design = prepare_design(
        frame,
        outcome="outcome",
        regressors=["treated", "x"],
        cluster="cluster",
        fixed_effects=["stratum", "enumerator"],
        weight=weight,
    )
    v, _, _ = bootstrap_weights(12, 40, weights="rademacher", seed=3)
    pre = _precompute(design, 0, "stata")
    fast = _Inversion(pre, v).statistics(0.2) * np.sqrt(pre.factor)
    slow = brute_force_with_dummies(frame, v, 0.2, weight, ["stratum", "enumerator"])
    np.testing.assert_allclose(fast, slow, rtol=1e-8)


def test_two_fixed_effect_p_value_equals_the_refit_per_draw_p_value() -> None:
    frame = two_fixed_effect_study(12, clusters=10)
    common = dict(
        outcome="outcome",
        regressors=["treated", "x"],
        term="treated",
        cluster="cluster",
        fixed_effects=["stratum", "enumerator"],
    )
    result = wild_cluster_bootstrap(frame, **common, weights="rademacher", draws=1024)
    assert result.enumerated
    v, _, _ = bootstrap_weights(10, 1024, weights="rademacher")
    slow = np.abs(brute_force_with_dummies(frame, v, 0.0, None, ["stratum", "enumerator"]))
    observed = slow[-1]  # the all-(+1) sign vector reproduces the sample
    assert result.p_value == pytest.approx(np.mean(slow >= observed * (1 - 1e-9)), abs=1e-12)


def test_enumerated_p_values_and_intervals_do_not_depend_on_the_units() -> None:
    frame = simulate(2, clusters=10)
    common = dict(regressors=["treated", "x"], term="treated", cluster="cluster")
    base = wild_cluster_bootstrap(frame, outcome="outcome", **common, weights="rademacher")
    tripled = frame.assign(outcome_3=3 * frame["outcome"])
    scaled_y = wild_cluster_bootstrap(tripled, outcome="outcome_3", **common, weights="rademacher")
    rescaled = frame.assign(treated=3 * frame["treated"], x=1000 * frame["x"])
    scaled_x = wild_cluster_bootstrap(rescaled, outcome="outcome", **common, weights="rademacher")
    assert base.enumerated
    assert scaled_y.p_value == base.p_value == scaled_x.p_value
    np.testing.assert_allclose(
        [scaled_y.conf_low / 3, scaled_y.conf_high / 3], [base.conf_low, base.conf_high], rtol=1e-6
    )
    np.testing.assert_allclose(
        [scaled_x.conf_low * 3, scaled_x.conf_high * 3], [base.conf_low, base.conf_high], rtol=1e-6
    )


def test_ties_under_enumeration_count_as_exceedances() -> None:
    frame = simulate(2, clusters=10)
    result = wild_cluster_bootstrap(
        frame,
        outcome="outcome",
        regressors=["treated", "x"],
        term="treated",
        cluster="cluster",
        weights="rademacher",
    )
    # The +1 and -1 sign vectors reproduce |t| exactly: at least 2 of the 1024 tie.
    assert result.p_value >= 2 / 1024
    assert round(result.p_value * 1024) % 2 == 0


def test_wild_bootstrap_reports_its_draws_to_a_progress_callback_once_made() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(20), 10)})
    frame["treated"] = (frame["cluster"] % 2).astype(float)
    frame["outcome"] = rng.normal(size=200)
    done: list[int] = []
    wild_cluster_bootstrap(
        frame, outcome="outcome", regressors=["treated"], term="treated", cluster="cluster",
        draws=199, seed=1, on_draws_done=done.append,
    )  # fmt: skip
    assert done == [199]
