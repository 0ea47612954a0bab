"""estimate_ancova and estimate_did: errors, notes, warnings and coverage of planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measurement.effects import LPM_NOTE, estimate_ancova, estimate_did
from measurement.errors import DesignError, FewClustersWarning


def simulate_panel(
    seed: int, *, clusters: int = 40, per_cluster: int = 10, effect: float = 0.3
) -> pd.DataFrame:
    """A stratified cluster-randomised panel: half of each stratum's clusters treated."""
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(clusters), per_cluster)
    stratum = cluster % 4
    assignment = np.zeros(clusters)
    for s in range(4):
        members = np.flatnonzero(np.arange(clusters) % 4 == s)
        assignment[rng.permutation(members)[: members.size // 2]] = 1.0
    treated = assignment[cluster]
    community = rng.normal(scale=0.5, size=clusters)[cluster]
    person = rng.normal(size=cluster.size)
    baseline = 0.2 * stratum + community + person + rng.normal(scale=0.7, size=cluster.size)
    follow = (
        0.2 * stratum
        + community
        + person
        + effect * treated
        + rng.normal(scale=0.5, size=clusters)[cluster]
        + rng.normal(scale=0.7, size=cluster.size)
    )
    return pd.DataFrame(
        {
            "cluster": cluster,
            "stratum": stratum,
            "treated": treated,
            "baseline": baseline,
            "outcome": follow,
        }
    )


def stacked(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(
        [
            frame.assign(post=0.0, value=frame["baseline"]),
            frame.assign(post=1.0, value=frame["outcome"]),
        ],
        ignore_index=True,
    )


def test_estimate_ancova_recovers_a_planted_effect_with_its_comparison_mean() -> None:
    frame = simulate_panel(1, clusters=60, per_cluster=30)
    effect = estimate_ancova(
        frame,
        outcome="outcome",
        treated="treated",
        baseline="baseline",
        cluster="cluster",
        stratum="stratum",
    )
    assert effect.conf_low < 0.3 < effect.conf_high
    assert effect.comparison_mean == pytest.approx(
        frame.loc[frame["treated"] == 0, "outcome"].mean()
    )
    sd = frame.loc[frame["treated"] == 0, "baseline"].std()
    assert effect.standardized_effect == pytest.approx(effect.estimate / sd)
    assert effect.tidy().shape == (1, 20)


def test_estimate_did_equals_the_difference_of_the_four_means() -> None:
    long = stacked(simulate_panel(2))
    effect = estimate_did(long, outcome="value", treated="treated", post="post", cluster="cluster")
    means = long.groupby(["treated", "post"])["value"].mean()
    assert effect.estimate == pytest.approx(
        means[1.0, 1.0] - means[1.0, 0.0] - means[0.0, 1.0] + means[0.0, 0.0]
    )
    assert effect.term == "treated:post"


def test_estimate_ancova_notes_the_linear_probability_model_for_binary_outcomes() -> None:
    frame = simulate_panel(3).assign(
        outcome=lambda f: (f["outcome"] > 0).astype(float),
        baseline=lambda f: (f["baseline"] > 0).astype(float),
    )
    effect = estimate_ancova(
        frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster"
    )
    assert effect.notes == (LPM_NOTE,)


def test_estimate_ancova_warns_with_few_clusters() -> None:
    frame = simulate_panel(4, clusters=12)
    with pytest.warns(FewClustersWarning, match="only 12 clusters"):
        effect = estimate_ancova(
            frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster"
        )
    assert effect.warnings == ("few clusters (12)",)


def test_estimate_did_rejects_an_empty_arm_by_wave_cell() -> None:
    long = stacked(simulate_panel(5))
    long = long.loc[~((long["treated"] == 1) & (long["post"] == 1))]
    with pytest.raises(DesignError, match=r"arm-by-wave cell .* has no complete row"):
        estimate_did(long, outcome="value", treated="treated", post="post", cluster="cluster")


def test_estimate_ancova_rejects_an_empty_arm() -> None:
    frame = simulate_panel(6)
    frame = frame.loc[frame["treated"] == 0]
    with pytest.raises(DesignError, match="has no complete row"):
        estimate_ancova(
            frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster"
        )


def test_estimate_ancova_rejects_a_single_cluster_in_an_arm() -> None:
    frame = simulate_panel(7)
    treated_clusters = frame.loc[frame["treated"] == 1, "cluster"].unique()
    frame = frame.loc[(frame["treated"] == 0) | (frame["cluster"] == treated_clusters[0])]
    with pytest.raises(DesignError, match="has a single cluster"):
        estimate_ancova(
            frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster"
        )


def test_estimate_did_rejects_one_cluster() -> None:
    long = stacked(simulate_panel(8)).assign(cluster=1)
    with pytest.raises(DesignError, match="single cluster"):
        estimate_did(long, outcome="value", treated="treated", post="post", cluster="cluster")


def test_estimate_ancova_rejects_an_outcome_without_variation() -> None:
    frame = simulate_panel(9).assign(outcome=4.0)
    with pytest.raises(DesignError, match="does not vary"):
        estimate_ancova(
            frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster"
        )


def test_estimate_ancova_rejects_treatment_constant_within_strata() -> None:
    frame = simulate_panel(10).assign(stratum=lambda f: f["treated"])
    with pytest.raises(DesignError, match="'treated' does not vary within the fixed effects"):
        estimate_ancova(
            frame,
            outcome="outcome",
            treated="treated",
            baseline="baseline",
            cluster="cluster",
            stratum="stratum",
        )


def test_estimate_did_rejects_treatment_varying_within_a_cluster() -> None:
    long = stacked(simulate_panel(11))
    long.loc[0, "treated"] = 1 - long.loc[0, "treated"]
    with pytest.raises(DesignError, match="varies within cluster"):
        estimate_did(long, outcome="value", treated="treated", post="post", cluster="cluster")


def test_estimate_ancova_rejects_a_treatment_that_is_not_zero_one() -> None:
    frame = simulate_panel(12).assign(treated=lambda f: f["treated"] * 2)
    with pytest.raises(ValueError, match="must hold 0/1"):
        estimate_ancova(
            frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster"
        )


def test_estimate_ancova_rejects_missing_columns_and_bad_confidence() -> None:
    frame = simulate_panel(13)
    with pytest.raises(ValueError, match=r"columns \['arm'\] are not in responses"):
        estimate_ancova(
            frame, outcome="outcome", treated="arm", baseline="baseline", cluster="cluster"
        )
    with pytest.raises(ValueError, match="confidence must lie strictly between 0 and 1"):
        estimate_did(
            stacked(frame),
            outcome="value",
            treated="treated",
            post="post",
            cluster="cluster",
            confidence=1.0,
        )


@pytest.mark.slow
def test_ancova_and_did_intervals_cover_a_planted_effect_about_95_percent() -> None:
    studies = 600
    covered = {"ancova": 0, "did": 0}
    for seed in range(studies):
        frame = simulate_panel(1000 + seed)
        ancova = estimate_ancova(
            frame,
            outcome="outcome",
            treated="treated",
            baseline="baseline",
            cluster="cluster",
            stratum="stratum",
        )
        did = estimate_did(
            stacked(frame),
            outcome="value",
            treated="treated",
            post="post",
            cluster="cluster",
            stratum="stratum",
        )
        covered["ancova"] += ancova.conf_low <= 0.3 <= ancova.conf_high
        covered["did"] += did.conf_low <= 0.3 <= did.conf_high
    for rate in covered.values():
        assert 0.93 <= rate / studies <= 0.97, covered


def _panel_with_ids(seed: int) -> pd.DataFrame:
    frame = simulate_panel(seed, clusters=40, per_cluster=8)
    return frame.assign(respondent=np.arange(len(frame)))


def test_estimate_did_with_respondent_fixed_effects_equals_the_first_difference_regression() -> (
    None
):
    # Two waves, respondent fixed effects: the interaction equals the difference in mean
    # change between arms (the first-difference estimator on a balanced panel).
    frame = _panel_with_ids(11)
    long = stacked(frame)
    effect = estimate_did(
        long, outcome="value", treated="treated", post="post", cluster="cluster",
        unit="respondent",
    )  # fmt: skip
    change = frame["outcome"] - frame["baseline"]
    expected = change[frame["treated"] == 1].mean() - change[frame["treated"] == 0].mean()
    assert effect.term == "treated:post"
    assert effect.estimate == pytest.approx(expected)
    assert "absorbed by the respondent fixed effects" in effect.specification


def test_estimate_did_with_cluster_fixed_effects_as_the_stratum_absorbs_treated() -> None:
    long = stacked(_panel_with_ids(12))
    plain = estimate_did(long, outcome="value", treated="treated", post="post", cluster="cluster")
    two_way = estimate_did(
        long, outcome="value", treated="treated", post="post", cluster="cluster",
        stratum="cluster",
    )  # fmt: skip
    # A balanced design: cluster effects do not change the interaction.
    assert two_way.estimate == pytest.approx(plain.estimate)
    assert "treated absorbed by the cluster fixed effects" in two_way.specification


def test_estimate_did_rejects_a_unit_that_spans_both_arms() -> None:
    long = stacked(_panel_with_ids(13)).assign(unit=lambda d: d["respondent"] % 7)
    with pytest.raises(DesignError, match="varies within units of 'unit'"):
        estimate_did(
            long, outcome="value", treated="treated", post="post", cluster="cluster", unit="unit"
        )


def test_estimate_ancova_keeps_respondents_without_a_baseline_value() -> None:
    frame = _panel_with_ids(14)
    frame.loc[frame.index[::9], "baseline"] = np.nan
    effect = estimate_ancova(
        frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster"
    )
    assert effect.n_obs == len(frame)
    assert "missing-indicator method" in effect.specification
    # By hand: the same regression with the baseline filled and the indicator added.
    filled = frame.assign(
        missing=frame["baseline"].isna().astype(float),
        baseline=frame["baseline"].fillna(frame["baseline"].mean()),
    )
    from measurement.linear_model import fit_linear_model

    fit = fit_linear_model(
        filled, outcome="outcome", regressors=["treated", "baseline", "missing"],
        cluster="cluster",
    )  # fmt: skip
    assert effect.estimate == pytest.approx(fit.term("treated")["estimate"])


def test_estimate_ancova_without_cluster_uses_hc2_when_asked() -> None:
    frame = _panel_with_ids(15)
    effect = estimate_ancova(
        frame, outcome="outcome", treated="treated", baseline="baseline", vcov="HC2"
    )
    assert effect.n_clusters == effect.n_obs
    assert "HC2" in effect.inference
    assert effect.df == effect.n_obs - 3


def test_estimate_ancova_with_cr2_reports_satterthwaite_df_and_no_cr1_warning() -> None:
    import warnings

    frame = _panel_with_ids(16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewClustersWarning)
        effect = estimate_ancova(
            frame, outcome="outcome", treated="treated", baseline="baseline",
            cluster="cluster", vcov="CR2",
        )  # fmt: skip
    assert 0 < effect.df < 39
    assert "Satterthwaite" in effect.inference
