"""Tests of descriptive within-arm change."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from measurement.change import CHANGE_COLUMNS, CHANGE_LABEL, within_arm_change
from measurement.errors import DesignError


def _panel(before: list[float], after: list[float], arm: list[str] | None = None) -> pd.DataFrame:
    n = len(before)
    frame = pd.DataFrame(
        {
            "respondent": [f"r{i}" for i in range(n)] * 2,
            "wave": ["baseline"] * n + ["endline"] * n,
            "trust": before + after,
        }
    )
    if arm is not None:
        frame["arm"] = arm * 2
    return frame


def test_within_arm_change_paired_t_matches_a_hand_computation():
    frame = _panel([1.0, 2.0, 3.0], [2.0, 4.0, 5.0])
    table = within_arm_change(
        frame,
        outcomes=["trust"],
        wave="wave",
        before="baseline",
        after="endline",
        design="panel",
        respondent="respondent",
    )
    assert list(table.columns) == CHANGE_COLUMNS
    paired = table.set_index("test").loc["paired_t"]
    # differences 1, 2, 2: mean 5/3, sd sqrt(1/3), se 1/3, t = 5 on 2 df
    assert paired["estimate"] == pytest.approx(5 / 3)
    assert paired["std_error"] == pytest.approx(1 / 3)
    assert paired["statistic"] == pytest.approx(5.0)
    assert paired["df"] == pytest.approx(2.0)
    assert paired["conf_low"] == pytest.approx(5 / 3 - stats.t.ppf(0.975, 2) / 3)
    # Hedges' g (pingouin, paired): d_av = 5/3 / sqrt((1 + 7/3) / 2), times 1 - 3 / (4*6 - 9)
    assert paired["hedges_g"] == pytest.approx(5 / 3 / np.sqrt((1 + 7 / 3) / 2) * 0.8)
    assert (table["label"] == CHANGE_LABEL).all()
    assert table.set_index("test").loc["wilcoxon", "estimate"] == pytest.approx(2.0)


def test_within_arm_change_welch_matches_a_hand_computation():
    frame = pd.DataFrame(
        {"wave": ["b"] * 3 + ["e"] * 4, "trust": [1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0]}
    )
    row = within_arm_change(
        frame, outcomes=["trust"], wave="wave", before="b", after="e", design="cross_section"
    ).iloc[0]
    se = np.sqrt(1 / 3 + (5 / 3) / 4)
    assert row["test"] == "welch_t"
    assert row["estimate"] == pytest.approx(2.5)
    assert row["std_error"] == pytest.approx(se)
    assert row["statistic"] == pytest.approx(2.5 / se)
    assert pd.isna(row["n_pairs"])


def test_within_arm_change_agrees_with_scipy_paired_welch_and_wilcoxon_tests():
    rng = np.random.default_rng(5)
    before = rng.normal(3, 1, 80)
    after = before + rng.normal(0.2, 0.8, 80)
    frame = _panel(before.tolist(), after.tolist())
    panel = within_arm_change(
        frame,
        outcomes=["trust"],
        wave="wave",
        before="baseline",
        after="endline",
        design="panel",
        respondent="respondent",
        confidence=0.9,
    ).set_index("test")
    reference = stats.ttest_rel(after, before)
    interval = reference.confidence_interval(0.9)
    assert panel.loc["paired_t", "p_value"] == pytest.approx(reference.pvalue, rel=1e-9)
    assert panel.loc["paired_t", "conf_low"] == pytest.approx(interval.low, rel=1e-9)
    assert panel.loc["paired_t", "conf_high"] == pytest.approx(interval.high, rel=1e-9)
    # pingouin applies a continuity correction to the normal approximation
    wilcoxon = stats.wilcoxon(after, before, correction=True, method="approx")
    assert panel.loc["wilcoxon", "p_value"] == pytest.approx(wilcoxon.pvalue, rel=1e-6)
    crossed = within_arm_change(
        frame,
        outcomes=["trust"],
        wave="wave",
        before="baseline",
        after="endline",
        design="cross_section",
    ).iloc[0]
    welch = stats.ttest_ind(after, before, equal_var=False)
    welch_interval = welch.confidence_interval(0.95)
    assert crossed["p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert crossed["df"] == pytest.approx(welch.df, rel=1e-9)
    assert crossed["conf_low"] == pytest.approx(welch_interval.low, rel=1e-9)


def test_within_arm_change_welch_interval_covers_a_planted_change_about_95_percent():
    rng = np.random.default_rng(9)
    covered = []
    for _ in range(300):
        before, after = rng.normal(0, 1, 40), rng.normal(0.3, 1.5, 60)
        frame = pd.DataFrame({"wave": ["b"] * 40 + ["e"] * 60, "y": np.r_[before, after]})
        row = within_arm_change(
            frame, outcomes=["y"], wave="wave", before="b", after="e", design="cross_section"
        ).iloc[0]
        covered.append(row["conf_low"] <= 0.3 <= row["conf_high"])
    assert 0.92 <= np.mean(covered) <= 0.98


def test_within_arm_change_recovers_a_planted_panel_change_per_arm():
    rng = np.random.default_rng(2)
    n = 1000
    before = rng.normal(3, 1, n)
    arms = ["campaign"] * (n // 2) + ["comparison"] * (n // 2)
    shift = np.where(np.array(arms) == "campaign", 0.5, 0.1)
    frame = _panel(before.tolist(), (before + shift + rng.normal(0, 0.5, n)).tolist(), arms)
    table = within_arm_change(
        frame,
        outcomes=["trust"],
        wave="wave",
        before="baseline",
        after="endline",
        design="panel",
        respondent="respondent",
        arm="arm",
    )
    paired = table[table["test"] == "paired_t"].set_index("arm")
    assert paired.loc["campaign", "estimate"] == pytest.approx(0.5, abs=0.07)
    assert paired.loc["comparison", "estimate"] == pytest.approx(0.1, abs=0.07)
    assert (paired["n_pairs"] == 500).all()


def test_within_arm_change_pairs_only_respondents_answering_both_waves():
    frame = _panel([1.0, 2.0, 3.0, np.nan], [2.0, 4.0, 5.0, 1.0])
    table = within_arm_change(
        frame,
        outcomes=["trust"],
        wave="wave",
        before="baseline",
        after="endline",
        design="panel",
        respondent="respondent",
    )
    assert (table["n_pairs"] == 3).all()


def test_within_arm_change_rejects_a_panel_without_respondent_ids():
    with pytest.raises(ValueError, match="a panel needs the respondent column"):
        within_arm_change(
            _panel([1.0, 2.0], [2.0, 3.0]),
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="endline",
            design="panel",
        )


def test_within_arm_change_rejects_a_respondent_interviewed_twice_in_a_wave():
    frame = _panel([1.0, 2.0, 3.0], [2.0, 4.0, 5.0])
    frame.loc[1, "respondent"] = "r0"
    with pytest.raises(ValueError, match="rows repeat a respondent within a wave"):
        within_arm_change(
            frame,
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="endline",
            design="panel",
            respondent="respondent",
        )


def test_within_arm_change_rejects_an_empty_wave_in_an_arm():
    frame = _panel([1.0, 2.0, 3.0], [2.0, 4.0, 5.0], arm=["a", "a", "b"])
    frame = frame[~((frame["arm"] == "b") & (frame["wave"] == "endline"))]
    with pytest.raises(DesignError, match="no row in arm 'b' at wave 'endline'"):
        within_arm_change(
            frame,
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="endline",
            design="panel",
            respondent="respondent",
            arm="arm",
        )


def test_within_arm_change_rejects_too_few_pairs_and_no_variation():
    with pytest.raises(DesignError, match="needs at least two"):
        within_arm_change(
            _panel([1.0], [2.0]),
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="endline",
            design="panel",
            respondent="respondent",
        )
    with pytest.raises(DesignError, match=r"the same change 1\.0 for every one"):
        within_arm_change(
            _panel([1.0, 2.0], [2.0, 3.0]),
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="endline",
            design="panel",
            respondent="respondent",
        )
    with pytest.raises(DesignError, match="needs at least two in each wave"):
        within_arm_change(
            _panel([1.0], [2.0]),
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="endline",
            design="cross_section",
        )
    with pytest.raises(DesignError, match="holds the single value"):
        within_arm_change(
            _panel([1.0, 1.0], [1.0, 1.0]),
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="endline",
            design="cross_section",
        )


def test_within_arm_change_rejects_bad_design_and_identical_waves():
    frame = _panel([1.0, 2.0], [2.0, 4.0])
    with pytest.raises(ValueError, match="design must be 'panel' or 'cross_section'"):
        within_arm_change(
            frame, outcomes=["trust"], wave="wave", before="baseline", after="endline", design="did"
        )  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before and after are both 'baseline'"):
        within_arm_change(
            frame,
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="baseline",
            design="cross_section",
        )


def _clustered_panel(seed: int, *, communities: int = 10, per_community: int = 20) -> pd.DataFrame:
    """No change on average, but each community's answers move together between waves."""
    rng = np.random.default_rng(seed)
    community = np.repeat(np.arange(communities), per_community)
    level = rng.normal(3, 1, size=community.size)
    shock = rng.normal(scale=0.2, size=communities)[community]
    after = level + shock + rng.normal(scale=0.6, size=community.size)
    return pd.DataFrame(
        {
            "respondent": np.tile(np.arange(community.size), 2),
            "community": np.tile(community, 2),
            "wave": ["baseline"] * community.size + ["endline"] * community.size,
            "trust": np.concatenate([level, after]),
        }
    )


def test_cluster_robust_change_holds_its_size_when_communities_share_shocks() -> None:
    # 40 studies with a true null of no change and modest community shocks (ICC of the
    # change 0.1): the paired t test ignoring the communities rejects about 18% (the defect;
    # 7 of these 40); CR2 with Satterthwaite df about 5% (2 expected; more than 6 has
    # probability about 1%).
    naive = robust = 0
    for seed in range(40):
        frame = _clustered_panel(seed)
        clustered = within_arm_change(
            frame, outcomes=["trust"], wave="wave", before="baseline", after="endline",
            design="panel", respondent="respondent", cluster="community",
        )  # fmt: skip
        wide = frame.pivot(index="respondent", columns="wave", values="trust")
        naive += bool(stats.ttest_rel(wide["endline"], wide["baseline"]).pvalue < 0.05)
        robust += bool(clustered["p_value"].iloc[0] < 0.05)
    assert naive >= 5
    assert robust <= 6


def test_cluster_robust_change_is_labelled_and_equals_the_mean_change() -> None:
    frame = _clustered_panel(3)
    table = within_arm_change(
        frame, outcomes=["trust"], wave="wave", before="baseline", after="endline",
        design="panel", respondent="respondent", cluster="community",
    )  # fmt: skip
    assert table["test"].tolist() == ["paired_cr2"]
    assert "cluster-robust: CR2 errors clustered on community" in table["label"].iloc[0]
    wide = frame.pivot(index="respondent", columns="wave", values="trust")
    assert table["estimate"].iloc[0] == pytest.approx((wide["endline"] - wide["baseline"]).mean())
    assert 0 < table["df"].iloc[0] < 9 + 1e-9
    cross = within_arm_change(
        frame, outcomes=["trust"], wave="wave", before="baseline", after="endline",
        design="cross_section", cluster="community",
    )  # fmt: skip
    assert cross["test"].tolist() == ["two_wave_cr2"]
    assert cross["estimate"].iloc[0] == pytest.approx(table["estimate"].iloc[0])


def test_cluster_robust_change_rejects_a_single_community() -> None:
    frame = _clustered_panel(4).assign(community=0)
    with pytest.raises(DesignError, match="cluster-robust change needs at least two"):
        within_arm_change(
            frame, outcomes=["trust"], wave="wave", before="baseline", after="endline",
            design="panel", respondent="respondent", cluster="community",
        )  # fmt: skip


def test_within_arm_change_matches_pingouins_wilcoxon_without_its_dense_pair_matrix():
    import tracemalloc

    import pingouin

    rng = np.random.default_rng(11)
    before = rng.integers(1, 6, 5000).astype(float)
    after = np.clip(before + rng.integers(-1, 3, 5000), 1, 5)
    frame = _panel(before.tolist(), after.tolist())
    tracemalloc.start()
    try:
        panel = within_arm_change(
            frame,
            outcomes=["trust"],
            wave="wave",
            before="baseline",
            after="endline",
            design="panel",
            respondent="respondent",
        ).set_index("test")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    reference = pingouin.wilcoxon(after, before)
    assert panel.loc["wilcoxon", "statistic"] == reference["W_val"].iloc[0]
    assert panel.loc["wilcoxon", "p_value"] == pytest.approx(reference["p_val"].iloc[0], rel=1e-12)
    # pingouin's common-language effect size builds 5,000 x 5,000 differences (200 MB).
    assert peak < 40e6


def _pivoted_pairs(part: pd.DataFrame, name: str, cluster: str) -> tuple[np.ndarray, ...]:
    """The former pairing: pivot one outcome by respondent and wave, drop incomplete pairs,
    and give each respondent the cluster of its first row."""
    wide = part.pivot(index="respondent", columns="wave", values=name).dropna()
    membership = part.drop_duplicates("respondent").set_index("respondent")[cluster]
    clusters = membership.reindex(wide.index).to_numpy()
    keep = pd.notna(clusters)
    differences = (wide["endline"] - wide["baseline"]).to_numpy(dtype=float)
    return (
        wide["baseline"].to_numpy(dtype=float),
        wide["endline"].to_numpy(dtype=float),
        differences[keep],
        clusters[keep],
    )


def test_pairs_found_once_for_several_outcomes_equal_the_pivot_of_each_outcome() -> None:
    from measurement.change import _clustered_row, _paired_rows, _Pairs

    rng = np.random.default_rng(12)
    n = 400
    ids = pd.Series([f"R{j:04d}x" if j % 3 else f"r{j}" for j in rng.permutation(n)])
    frame = pd.DataFrame(
        {
            "respondent": pd.concat([ids, ids.sample(frac=0.8, random_state=1)]).to_numpy(),
            "wave": ["baseline"] * n + ["endline"] * int(0.8 * n),
        }
    )
    frame["cluster"] = pd.array(
        [f"c{int(code)}" for code in rng.integers(0, 25, len(frame))], dtype="string"
    )
    frame.loc[frame.index[::37], "cluster"] = pd.NA
    for j in range(3):
        frame[f"outcome_{j}"] = rng.normal(size=len(frame))
        frame.loc[rng.random(len(frame)) < 0.1, f"outcome_{j}"] = np.nan
    frame = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pairs = _Pairs.of(
        frame, respondent="respondent", wave="wave", before="baseline", after="endline",
        cluster="cluster",
    )  # fmt: skip
    for j in range(3):
        name = f"outcome_{j}"
        before, after, clusters = pairs.values(frame[name])
        old_before, old_after, old_differences, old_clusters = _pivoted_pairs(
            frame, name, "cluster"
        )
        np.testing.assert_array_equal(before, old_before)
        np.testing.assert_array_equal(after, old_after)
        assert clusters is not None
        keep = clusters >= 0
        assert _paired_rows(before, after, 0.95, name) == _paired_rows(
            old_before, old_after, 0.95, name
        )
        assert _clustered_row(
            (after - before)[keep], clusters[keep], None, 0.95, name
        ) == _clustered_row(old_differences, old_clusters, None, 0.95, name)


def test_within_arm_change_of_a_large_panel_raises_no_bayes_factor_overflow():
    # pingouin's t-test adds a JZS Bayes factor whose ratio overflows near t = 38.5 with
    # tens of thousands of pairs (RuntimeWarning, an error under the test settings); the
    # table never reads the Bayes factor, so a large study's change table must not warn.
    n = 50_000
    noise = np.random.default_rng(7).normal(size=n)
    noise = (noise - noise.mean()) / noise.std(ddof=1)
    before = np.zeros(n)
    after = 38.5 / np.sqrt(n) + noise
    table = within_arm_change(
        _panel(list(before), list(after)),
        outcomes=["trust"],
        wave="wave",
        before="baseline",
        after="endline",
        design="panel",
        respondent="respondent",
    )
    assert table.set_index("test").loc["paired_t", "statistic"] == pytest.approx(38.5)
