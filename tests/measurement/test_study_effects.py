"""estimate_study_effects: one row per outcome with every inference column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measurement.effects import estimate_ancova
from measurement.errors import FewClustersWarning
from measurement.study_effects import EFFECT_COLUMNS, estimate_study_effects


def survey(clusters: int = 40, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = clusters * 20
    base = pd.DataFrame({"respondent": np.arange(n), "cluster": np.arange(n) // 20})
    base["stratum"] = base["cluster"] % 4
    base["treated"] = ((base["cluster"] // 4) % 2).astype(float)
    base["trust"] = rng.normal(size=n)
    base["intends"] = (rng.random(n) < 0.4).astype(float)
    base["flat"] = 1.0
    follow = base.copy()
    follow["trust"] = 0.5 * base["trust"] + 0.6 * base["treated"] + rng.normal(size=n)
    follow["intends"] = (rng.random(n) < 0.4 - 0.1 * base["treated"]).astype(float)
    follow = follow.sample(frac=0.7, random_state=seed)
    return pd.concat([base.assign(wave="baseline"), follow.assign(wave="endline")])


OUTCOMES = [
    {"outcome": "trust", "construct": "trust_official", "family": "trust"},
    {
        "outcome": "intends",
        "construct": "intention",
        "family": "intention",
        "warnings": ["low reliability (alpha 0.52)"],
    },
    {"outcome": "flat", "family": "intention"},
]


@pytest.mark.parametrize("estimator", ["ancova", "did"])
def test_estimate_study_effects_gives_one_row_per_outcome_with_every_column(
    estimator: str,
) -> None:
    table = estimate_study_effects(
        survey(),
        outcomes=OUTCOMES,
        treated="treated",
        cluster="cluster",
        wave="wave",
        waves=("baseline", "endline"),
        estimator=estimator,
        respondent="respondent",
        stratum="stratum",
        bootstrap_draws=199,
        randomization_draws=199,
        seed=1,
    )
    assert list(table.columns) == EFFECT_COLUMNS
    assert table["outcome"].tolist() == ["trust", "intends", "flat"]
    trust, intends, flat = (table.iloc[i] for i in range(3))
    assert trust["p_value_wild_bootstrap"] < 0.05 and trust["p_value_randomization"] < 0.05
    assert trust["conf_low_wild_bootstrap"] < trust["estimate"] < trust["conf_high_wild_bootstrap"]
    assert "linear probability model" in intends["notes"]
    assert "low reliability" in intends["warnings"]
    assert "high attrition (30%" in trust["warnings"]
    assert np.isnan(flat["estimate"]) and "not estimated" in flat["warnings"]
    assert trust["waves_compared"] == "baseline -> endline"


def test_estimate_study_effects_matches_estimate_ancova_and_is_reproducible() -> None:
    frame = survey(seed=2)
    common = dict(
        outcomes=["trust"],
        treated="treated",
        cluster="cluster",
        wave="wave",
        waves=("baseline", "endline"),
        respondent="respondent",
        bootstrap_draws=99,
        randomization_draws=99,
        seed=5,
    )
    first = estimate_study_effects(frame, **common)
    assert first.equals(estimate_study_effects(frame, **common))
    wide = frame.loc[frame["wave"] == "endline"].merge(
        frame.loc[frame["wave"] == "baseline", ["respondent", "trust"]].rename(
            columns={"trust": "trust_baseline"}
        ),
        on="respondent",
    )
    direct = estimate_ancova(
        wide, outcome="trust", treated="treated", baseline="trust_baseline", cluster="cluster"
    )
    assert first.loc[0, "estimate"] == pytest.approx(direct.estimate)
    assert first.loc[0, "std_error"] == pytest.approx(direct.std_error)


def test_estimate_study_effects_warns_once_when_cr1_is_primary_with_few_clusters() -> None:
    with pytest.warns(FewClustersWarning, match="only 12 clusters"):
        table = estimate_study_effects(
            survey(clusters=12),
            outcomes=["trust", "intends"],
            treated="treated",
            cluster="cluster",
            wave="wave",
            waves=("baseline", "endline"),
            estimator="did",
            bootstrap_draws=99,
            randomization_draws=0,
            few_clusters_below=10,
        )
    assert table["warnings"].str.contains("few clusters").all()
    assert table["p_value_randomization"].isna().all()
    assert (table["primary_inference"] == "cr1").all()
    assert table["p_value_primary"].tolist() == table["p_value"].tolist()


COMMON = dict(
    outcomes=["trust", "intends"],
    treated="treated",
    wave="wave",
    waves=("baseline", "endline"),
    estimator="did",
    randomization_draws=0,
)


def test_with_few_clusters_the_primary_inference_is_cr2_and_q_values_read_it() -> None:
    table = estimate_study_effects(
        survey(clusters=12), cluster="cluster", bootstrap_draws=99, **COMMON
    )
    assert (table["primary_inference"] == "cr2_satterthwaite").all()
    assert table["p_value_primary"].tolist() == table["p_value_cr2"].tolist()
    assert table["conf_low_primary"].tolist() == table["conf_low_cr2"].tolist()
    assert (table["df_cr2"] < 11).all() and (table["df"] == 11).all()
    assert table["inference"].str.startswith("primary: CR2").all()
    # One outcome per family: the q-value of each equals its primary p-value.
    by_family = table.assign(family=table["outcome"])
    assert by_family["adjusted_p_value"].tolist() == pytest.approx(
        table["p_value_primary"].tolist()
    )
    # Both outcomes in one family: BH on the primary p-values.
    shared = estimate_study_effects(
        survey(clusters=12),
        cluster="cluster",
        bootstrap_draws=0,
        **(COMMON | {"outcomes": [{"outcome": "trust", "family": "f"},
                                  {"outcome": "intends", "family": "f"}]}),
    )  # fmt: skip
    # BH with two hypotheses: the larger p stays, the smaller becomes min(2 p, larger p).
    low, high = sorted(shared["p_value_primary"].tolist())
    expected = [min(2 * low, high) if value == low else high for value in shared["p_value_primary"]]
    assert shared["adjusted_p_value"].to_numpy() == pytest.approx(expected)


def test_the_study_can_choose_the_wild_bootstrap_as_the_few_clusters_method() -> None:
    table = estimate_study_effects(
        survey(clusters=12),
        cluster="cluster",
        bootstrap_draws=99,
        seed=3,
        few_clusters_method="wild_bootstrap",
        **COMMON,
    )
    assert (table["primary_inference"] == "wild_bootstrap").all()
    assert table["p_value_primary"].tolist() == table["p_value_wild_bootstrap"].tolist()
    assert table["conf_high_primary"].tolist() == table["conf_high_wild_bootstrap"].tolist()


def test_with_many_clusters_cr1_is_primary_unless_the_study_says_cr2() -> None:
    frame = survey(clusters=44)
    cr1 = estimate_study_effects(frame, cluster="cluster", bootstrap_draws=0, **COMMON)
    assert (cr1["primary_inference"] == "cr1").all()
    cr2 = estimate_study_effects(
        frame, cluster="cluster", bootstrap_draws=0, many_clusters_method="cr2", **COMMON
    )
    assert (cr2["primary_inference"] == "cr2_satterthwaite").all()
    assert cr2["p_value_primary"].tolist() == cr2["p_value_cr2"].tolist()


def test_an_individually_randomised_design_reads_hc2_and_skips_the_cluster_bootstrap() -> None:
    table = estimate_study_effects(survey(), cluster=None, bootstrap_draws=99, **COMMON)
    assert (table["primary_inference"] == "hc2").all()
    assert table["p_value_wild_bootstrap"].isna().all()
    assert table["p_value_romano_wolf"].isna().all()
    assert table["std_error_cr2"].isna().all()
    assert table["inference"].str.contains("HC2").all()
    assert (table["p_value_primary"] != table["p_value"]).all()


def test_estimate_study_effects_rejects_bad_arguments() -> None:
    frame = survey()
    common = dict(treated="treated", cluster="cluster", wave="wave")
    with pytest.raises(ValueError, match="estimator must be 'ancova' or 'did'"):
        estimate_study_effects(
            frame, outcomes=["trust"], waves=("baseline", "endline"), estimator="iv", **common
        )
    with pytest.raises(ValueError, match="needs respondent"):
        estimate_study_effects(frame, outcomes=["trust"], waves=("baseline", "endline"), **common)
    with pytest.raises(ValueError, match=r"waves \['midline'\] are not in column 'wave'"):
        estimate_study_effects(
            frame, outcomes=["trust"], waves=("baseline", "midline"), estimator="did", **common
        )
    with pytest.raises(ValueError, match="lacks the key 'outcome'"):
        estimate_study_effects(
            frame,
            outcomes=[{"family": "x"}],
            waves=("baseline", "endline"),
            estimator="did",
            **common,
        )
    with pytest.raises(ValueError, match=r"columns \['nope'\] are not in responses"):
        estimate_study_effects(
            frame, outcomes=["nope"], waves=("baseline", "endline"), estimator="did", **common
        )
    with pytest.raises(ValueError, match="adjust must be"):
        estimate_study_effects(
            frame,
            outcomes=["trust"],
            waves=("baseline", "endline"),
            estimator="did",
            adjust="bonferroni",
            **common,
        )
    with pytest.raises(ValueError, match="waves must name"):
        estimate_study_effects(
            frame, outcomes=["trust"], waves=("baseline",), estimator="did", **common
        )


@pytest.mark.parametrize("estimator", ["ancova", "did"])
def test_estimate_study_effects_adds_family_wise_step_down_p_values(estimator: str) -> None:
    data = survey(seed=3)
    rng = np.random.default_rng(3)
    data["null_a"] = rng.normal(size=len(data))
    data["null_b"] = rng.normal(size=len(data))
    family = [{"outcome": name, "family": "trust"} for name in ("trust", "null_a", "null_b")]
    table = estimate_study_effects(
        data,
        outcomes=[*family, {"outcome": "intends", "family": "intention"}],
        treated="treated",
        cluster="cluster",
        wave="wave",
        waves=("baseline", "endline"),
        estimator=estimator,
        respondent="respondent",
        stratum="stratum",
        bootstrap_draws=999,
        seed=4,
    ).set_index("outcome")
    stepdown = table.loc[["trust", "null_a", "null_b"], "p_value_romano_wolf"]
    assert stepdown["trust"] < 0.01
    assert (stepdown[["null_a", "null_b"]] > 0.05).all()
    # A step-down adjustment never lowers a p-value below the unadjusted bootstrap one
    # by more than Monte Carlo error, and one outcome alone has no family to adjust for.
    unadjusted = table.loc[["trust", "null_a", "null_b"], "p_value_wild_bootstrap"]
    assert (stepdown >= unadjusted - 0.02).all()
    assert (table.loc[["null_a", "null_b"], "p_value_westfall_young"] > 0.05).all()
    assert np.isnan(table.loc["intends", "p_value_romano_wolf"])


def _merged_per_outcome(frame: pd.DataFrame, outcome: str, estimator: str) -> pd.DataFrame:
    """The former model frames: one merge (ANCOVA) or one stack (DiD) per outcome."""
    baseline = frame.loc[frame["wave"] == "baseline"]
    follow = frame.loc[frame["wave"] == "endline"]
    if estimator == "ancova":
        linked = baseline[["respondent", outcome]].drop_duplicates("respondent")
        return follow.merge(
            linked.rename(columns={outcome: f"{outcome}__baseline"}), on="respondent", how="left"
        )
    return pd.concat([baseline.assign(post=0.0), follow.assign(post=1.0)], ignore_index=True)


@pytest.mark.parametrize("estimator", ["ancova", "did"])
def test_models_built_from_shared_rows_give_the_fits_of_one_merge_per_outcome(
    estimator: str,
) -> None:
    from measurement.effects import fit_effect_model, specify_ancova, specify_did

    frame = survey(seed=4)
    # A respondent missing at baseline for one outcome, answers missing at random.
    frame.loc[frame.sample(frac=0.1, random_state=2).index, "trust"] = np.nan
    frame["weight"] = np.random.default_rng(3).uniform(0.5, 2.0, len(frame))
    outcomes = ["trust", "intends"]
    table = estimate_study_effects(
        frame, outcomes=outcomes, treated="treated", cluster="cluster", wave="wave",
        waves=("baseline", "endline"), estimator=estimator, respondent="respondent",
        stratum="stratum", weight="weight", bootstrap_draws=0, randomization_draws=0,
    )  # fmt: skip
    for position, outcome in enumerate(outcomes):
        merged = _merged_per_outcome(frame, outcome, estimator)
        common = dict(treated="treated", cluster="cluster", stratum="stratum", weight="weight")
        model = (
            specify_ancova(merged, outcome=outcome, baseline=f"{outcome}__baseline", **common)
            if estimator == "ancova"
            else specify_did(merged, outcome=outcome, post="post", **common)
        )
        cr1 = fit_effect_model(model).term(model.term)
        cr2 = fit_effect_model(model, vcov="CR2").term(model.term)
        row = table.iloc[position]
        # Bit-identical: the same rows in the same order reach the same arithmetic.
        assert (row["estimate"], row["std_error"], row["p_value"]) == (
            cr1["estimate"], cr1["std_error"], cr1["p_value"],
        )  # fmt: skip
        assert (row["std_error_cr2"], row["df_cr2"], row["p_value_cr2"]) == (
            cr2["std_error"], cr2["df"], cr2["p_value"],
        )  # fmt: skip


def test_study_effects_report_each_outcomes_bootstrap_and_randomization_draws() -> None:
    done: list[int] = []
    estimate_study_effects(
        survey(), outcomes=["trust", "intends"], treated="treated", cluster="cluster",
        wave="wave", waves=("baseline", "endline"), respondent="respondent",
        stratum="stratum", bootstrap_draws=49, randomization_draws=59, seed=1,
        on_draws_done=done.append,
    )  # fmt: skip
    assert sum(done) == 2 * (49 + 59)


@pytest.mark.parametrize("estimator", ["ancova", "did"])
def test_step_down_from_trimmed_models_equals_the_one_from_whole_model_frames(
    estimator: str,
) -> None:
    """Only a family's first model keeps its whole frame for the step-down; the others keep
    the columns it lacks. The joined frame, and so the adjusted p-values, are the same as
    when every model kept its frame."""
    from measurement.effects import specify_ancova, specify_did
    from measurement.multiple_testing import stepdown_p_values

    frame = survey(seed=3)
    rng = np.random.default_rng(3)
    frame["null_a"] = rng.normal(size=len(frame))
    frame.loc[frame.sample(frac=0.1, random_state=2).index, "null_a"] = np.nan
    frame["null_b"] = rng.normal(size=len(frame))
    names = ["trust", "null_a", "null_b"]
    table = estimate_study_effects(
        frame, outcomes=[{"outcome": name, "family": "trust"} for name in names],
        treated="treated", cluster="cluster", wave="wave", waves=("baseline", "endline"),
        estimator=estimator, respondent="respondent", stratum="stratum",
        bootstrap_draws=199, randomization_draws=0, seed=4,
    )  # fmt: skip
    common = dict(treated="treated", cluster="cluster", stratum="stratum")
    models = {}
    for name in names:
        merged = _merged_per_outcome(frame, name, estimator)
        models[name] = (
            specify_ancova(merged, outcome=name, baseline=f"{name}__baseline", **common)
            if estimator == "ancova"
            else specify_did(merged, outcome=name, post="post", **common)
        )
    combined = models[names[0]].frame.copy()
    for name in names[1:]:
        for column in models[name].frame.columns.difference(combined.columns):
            combined[column] = models[name].frame[column].to_numpy()
    streams = np.random.SeedSequence(4).spawn(2 * len(names) + 1)
    expected = stepdown_p_values(
        combined, outcomes=names, term=models[names[0]].term,
        regressors={name: models[name].regressors for name in names}, cluster="cluster",
        fixed_effects=models[names[0]].fixed_effects, weight=None, draws=199,
        weights="auto", seed=np.random.default_rng(streams[-1]), small_sample="stata",
    ).set_index("outcome")  # fmt: skip
    found = table.set_index("outcome")
    for column in ("p_value_romano_wolf", "p_value_westfall_young"):
        assert found.loc[names, column].tolist() == expected.loc[names, column].tolist()
