"""simulate_study: determinism, design, planted effects, attrition and skip logic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from flows.simulation import (
    EFFECT_COLUMNS,
    PII_COLUMNS,
    SimulatedStudy,
    SimulationSettings,
    simulate_study,
    simulate_wave_frame,
)
from flows.study import Study

TRUST_OFFICIAL = [
    "trust_own_government",
    "trust_destination_government",
    "trust_eu",
    "trust_iom_un",
]
RISK = ["risk_death", "risk_abuse", "risk_forced_labour", "risk_detention", "risk_deportation"]


def answered(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Special codes (negative) as missing."""
    block = frame[columns].astype(float)
    return block.where(block >= 0)


def one_way_icc(values: pd.Series, groups: pd.Series) -> float:
    """The ANOVA estimator of the intraclass correlation."""
    data = pd.DataFrame({"y": values, "g": groups}).dropna()
    grouped = data.groupby("g")["y"]
    sizes = grouped.size()
    k = (len(data) - (sizes**2).sum() / len(data)) / (len(sizes) - 1)
    between = (sizes * (grouped.mean() - data["y"].mean()) ** 2).sum() / (len(sizes) - 1)
    within = ((data["y"] - grouped.transform("mean")) ** 2).sum() / (len(data) - len(sizes))
    return float((between - within) / (between + (k - 1) * within))


def arm_change(
    sim: SimulatedStudy, wave: str, outcome: pd.Series | None = None, *, columns: list[str]
) -> float:
    """(campaign - comparison) at ``wave`` minus the same at baseline, on the item mean."""

    def gap(name: str) -> float:
        frame = sim.waves[name].frame
        value = answered(frame, columns).mean(axis=1)
        return float(
            value[frame["arm"] == "campaign"].mean() - value[frame["arm"] == "comparison"].mean()
        )

    return gap(wave) - gap("baseline")


def test_simulate_study_is_deterministic_by_seed(example_study: Study) -> None:
    settings = SimulationSettings(n_clusters=8, respondents_per_cluster=5, n_enumerators=4)
    first = simulate_study(example_study, settings)
    again = simulate_study(example_study, settings)
    other = simulate_study(example_study, replace(settings, seed=settings.seed + 1))
    for wave in first.waves:
        pd.testing.assert_frame_equal(first.waves[wave].frame, again.waves[wave].frame)
        pd.testing.assert_frame_equal(first.waves[wave].faults, again.waves[wave].faults)
    assert not first.waves["baseline"].frame.equals(other.waves["baseline"].frame)


def test_simulated_waves_carry_the_study_columns_and_identifying_columns(
    large_simulation: SimulatedStudy, example_study: Study
) -> None:
    frame = large_simulation.waves["baseline"].frame
    roles = [
        "respondent_id",
        "community",
        "region",
        "arm",
        "weight",
        "enumerator_id",
        "start",
        "end",
        "_uuid",
        "consent",
    ]
    assert list(frame.columns[: len(roles)]) == roles
    assert set(PII_COLUMNS) <= set(frame.columns)
    assert set(PII_COLUMNS) <= set(example_study.pii)
    assert set(frame["arm"]) == {"campaign", "comparison"}
    assert (
        frame["_uuid"]
        .str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
        .all()
    )
    assert frame["phone"].str.fullmatch(r"\+221 7[0678] \d{3} \d{2} \d{2}|\+220 \d{3} \d{4}").all()
    assert frame["gps_latitude"].between(12.4, 14.3).all()
    assert frame["gps_longitude"].between(-16.5, -12.5).all()
    instrument = example_study.resolved_instrument()
    stored = [name for item in instrument.items for name in item.stored_names()]
    assert set(stored) <= set(frame.columns)


def test_communities_are_split_half_and_half_within_strata(
    large_simulation: SimulatedStudy,
) -> None:
    frame = large_simulation.waves["baseline"].frame
    communities = frame.drop_duplicates("community")
    counts = communities.groupby(["region", "arm"]).size()
    assert counts.nunique() == 1
    assert len(communities) == 200
    # Arm and region never change within a community.
    assert frame.groupby("community")[["arm", "region"]].nunique().max().max() == 1


def test_baseline_matches_the_review(clean_simulation: SimulatedStudy) -> None:
    frame = clean_simulation.waves["baseline"].frame
    official = answered(frame, TRUST_OFFICIAL).mean(axis=1).mean()
    informal = answered(frame, ["trust_family", "trust_returnees"]).mean(axis=1).mean()
    assert 1.6 < official < 2.4
    assert 3.7 < informal < 4.4
    # Most overestimate the chance of dying (2 in 100 in truth).
    assert (frame["risk_death"] > 2).mean() > 0.8
    assert frame["wish_to_leave"].mean() == pytest.approx(0.5, abs=0.05)
    family = frame["decision_who"].isin([2, 3, 4, 5]).mean()
    assert family > 0.75


def test_trust_construct_icc_is_near_the_setting(clean_simulation: SimulatedStudy) -> None:
    # Items load 0.8 on the construct latent, whose ICC is `icc`: the four-item mean keeps
    # icc * l^2 / (l^2 + (1 - l^2) / 4) of it before discretisation.
    settings = clean_simulation.settings
    loading = settings.item_loading**2
    expected = settings.icc * loading / (loading + (1 - loading) / 4)
    frame = clean_simulation.waves["baseline"].frame
    index = answered(frame, TRUST_OFFICIAL).mean(axis=1)
    assert one_way_icc(index, frame["community"]) == pytest.approx(expected, abs=0.03)


def test_planted_effects_show_in_a_difference_of_means(clean_simulation: SimulatedStudy) -> None:
    effects = clean_simulation.effects.set_index(["outcome", "wave"])["true_effect"]
    assert effects["risk_perception", "endline"] == pytest.approx(8.0)
    assert effects["risk_perception", "follow_up"] == pytest.approx(4.0)
    assert effects["trust_official", "endline"] == 0.0
    assert arm_change(clean_simulation, "endline", columns=RISK) == pytest.approx(8.0, abs=2.0)
    assert arm_change(clean_simulation, "follow_up", columns=RISK) == pytest.approx(4.0, abs=2.0)
    assert arm_change(clean_simulation, "endline", columns=TRUST_OFFICIAL) == pytest.approx(
        0.0, abs=0.12
    )
    assert arm_change(
        clean_simulation, "endline", columns=["irregular_intention"]
    ) == pytest.approx(-0.25, abs=0.12)
    assert arm_change(
        clean_simulation, "endline", columns=["knows_legal_pathway"]
    ) == pytest.approx(0.08, abs=0.04)
    assert arm_change(clean_simulation, "endline", columns=["exposure_recall"]) == pytest.approx(
        0.40, abs=0.05
    )


def test_true_effects_table_has_the_documented_columns(large_simulation: SimulatedStudy) -> None:
    effects = large_simulation.effects
    assert tuple(effects.columns) == EFFECT_COLUMNS
    assert set(effects["wave"]) == {"baseline", "endline", "follow_up"}
    assert (effects.loc[effects["wave"] == "baseline", "true_effect"] == 0).all()
    knowledge = effects[(effects["outcome"] == "knowledge") & (effects["wave"] == "endline")]
    assert knowledge["true_effect"].item() == pytest.approx(0.10)
    assert knowledge["units"].item() == "mean of items: share of quiz answers correct"


def test_panel_attrition_is_near_the_setting_and_differs_by_arm(
    large_simulation: SimulatedStudy,
) -> None:
    baseline = large_simulation.waves["baseline"].frame.drop_duplicates("respondent_id")
    for wave, rate in (("endline", 0.12), ("follow_up", 0.20)):
        later = large_simulation.waves[wave].frame.drop_duplicates("respondent_id")
        assert set(later["respondent_id"]) <= set(baseline["respondent_id"])
        found = baseline["respondent_id"].isin(later["respondent_id"])
        for arm, shift in (("campaign", 0.02), ("comparison", -0.02)):
            lost = 1 - found[baseline["arm"] == arm].mean()
            assert lost == pytest.approx(rate + shift, abs=0.02)


def test_panel_respondents_keep_their_identity_across_waves(
    clean_simulation: SimulatedStudy,
) -> None:
    baseline = clean_simulation.waves["baseline"].frame
    endline = clean_simulation.waves["endline"].frame
    merged = baseline.merge(endline, on="respondent_id", suffixes=("_b", "_e"))
    for column in ("community", "arm", "region", "respondent_name", "phone", "gender"):
        assert (merged[f"{column}_b"] == merged[f"{column}_e"]).all()


def test_repeated_cross_section_draws_new_respondents_each_wave(example_study: Study) -> None:
    settings = SimulationSettings(
        n_clusters=8, respondents_per_cluster=10, n_enumerators=4, sampling="repeated_cross_section"
    )
    sim = simulate_study(example_study, settings)
    ids = [set(wave.frame["respondent_id"]) for wave in sim.waves.values()]
    assert not ids[0] & ids[1] and not ids[1] & ids[2]
    duplicates = sim.faults["fault"].eq("duplicate_submission").groupby(sim.faults["wave"]).sum()
    for name, wave in sim.waves.items():
        assert len(wave.frame) == 80 + duplicates.get(name, 0)


def test_skip_logic_marks_unasked_questions_not_applicable(
    clean_simulation: SimulatedStudy,
) -> None:
    frame = clean_simulation.waves["endline"].frame
    no_wish = frame["wish_to_leave"] == 0
    assert (
        (frame.loc[no_wish, ["plan_12_months", "preparations_made", "intended_destination"]] == -77)
        .all()
        .all()
    )
    assert (frame.loc[~no_wish, "plan_12_months"].isin([0, 1])).all()
    # No preparations without a plan; whoever prepared names at least one step.
    assert (frame.loc[frame["plan_12_months"] != 1, "preparations_made"] == -77).all()
    steps = frame[[c for c in frame.columns if c.startswith("preparations__")]]
    assert (steps[frame["preparations_made"] == 1].sum(axis=1) >= 1).all()
    assert (steps[frame["preparations_made"] != 1] == -77).all().all()
    assert (frame.loc[frame["exposure_recall"] == 0, "recall_core_message"] == -77).all()


def test_campaign_exposure_is_higher_in_the_campaign_arm_after_baseline(
    clean_simulation: SimulatedStudy,
) -> None:
    for wave in ("baseline", "endline"):
        frame = clean_simulation.waves[wave].frame
        heard = frame[frame["exposure_recall"] == 1]
        attended = heard.groupby("arm")["attended_event"].mean()
        if wave == "baseline":
            assert attended["campaign"] == pytest.approx(attended["comparison"], abs=0.05)
        else:
            assert attended["campaign"] > attended["comparison"] + 0.3


def test_missing_codes_appear_on_risk_and_trust_at_their_rates(
    large_simulation: SimulatedStudy,
) -> None:
    frame = large_simulation.waves["baseline"].frame
    assert (frame["risk_death"] == -88).mean() == pytest.approx(0.03, abs=0.01)
    assert (frame["trust_eu"] == -66).mean() == pytest.approx(0.08, abs=0.015)
    assert (frame["trust_family"] == -66).sum() == 0
    assert (frame["feel_informed"] == -88).sum() == 0


def test_simulate_wave_frame_gives_one_large_cross_section(example_study: Study) -> None:
    wave = simulate_wave_frame(example_study, SimulationSettings(), "endline", 5_003)
    duplicates = int((wave.faults["fault"] == "duplicate_submission").sum())
    assert len(wave.frame) == 5_003 + duplicates
    assert wave.frame["respondent_id"].iloc[:5_003].is_unique
    assert set(wave.faults["fault"]) == {
        "duplicate_submission",
        "speeder",
        "straightliner",
        "out_of_range",
        "missing_consent",
        "fabricated",
    }


def test_simulate_wave_frame_rejects_an_unknown_wave(example_study: Study) -> None:
    with pytest.raises(ValueError, match="wave 'midline' is not a wave of study 'example'"):
        simulate_wave_frame(example_study, SimulationSettings(), "midline", 1_000)


def test_simulate_wave_frame_rejects_fewer_respondents_than_communities(
    example_study: Study,
) -> None:
    with pytest.raises(ValueError, match="n_respondents must be at least n_clusters"):
        simulate_wave_frame(example_study, SimulationSettings(), "endline", 10)


@pytest.mark.parametrize(
    ("effects", "trends", "message"),
    [
        (
            {"trust_martians": 1.0},
            {},
            "effect key 'trust_martians' is neither an item nor a construct",
        ),
        ({"attended_event": 0.2}, {}, "item 'attended_event' cannot carry a true effect"),
        ({"feel_informed": 9.0}, {}, "cannot be reached on its scale"),
        ({}, {"nothing": 0.1}, "trend key 'nothing' is neither an item nor a construct"),
    ],
)
def test_simulate_study_rejects_effects_it_cannot_plant(
    example_study: Study, effects: dict[str, float], trends: dict[str, float], message: str
) -> None:
    settings = SimulationSettings(
        n_clusters=4, respondents_per_cluster=2, n_enumerators=2, effects=effects, trends=trends
    )
    with pytest.raises(ValueError, match=message):
        simulate_study(example_study, settings)


def test_a_construct_effect_reverses_on_negative_direction_items(example_study: Study) -> None:
    settings = SimulationSettings(
        n_clusters=4, respondents_per_cluster=2, n_enumerators=2,
        effects={"journey_expectations": 1000.0, "expected_duration_months": 0.0},
    )  # fmt: skip
    effects = simulate_study(example_study, settings).effects.set_index(["outcome", "wave"])
    assert effects.loc[("expected_cost", "endline"), "true_effect"] == pytest.approx(1000.0)
    assert effects.loc[("expected_earnings", "endline"), "true_effect"] == pytest.approx(-1000.0)
    assert np.isclose(effects.loc[("expected_duration_months", "endline"), "true_effect"], 0.0)
