"""Planted field faults: each class at its rate, labelled in the truth, clean rows clean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.simulation import FAULT_CLASSES, FAULT_COLUMNS, SimulatedStudy, SimulationSettings

TRUST = [
    "trust_own_government", "trust_destination_government", "trust_eu", "trust_iom_un",
    "trust_ngo", "trust_local_leaders", "trust_religious_leaders", "trust_family",
    "trust_friends", "trust_diaspora", "trust_returnees", "trust_smugglers",
    "trust_traditional_media", "trust_social_media",
]  # fmt: skip


def minutes(frame: pd.DataFrame) -> pd.Series:
    return (frame["end"] - frame["start"]).dt.total_seconds() / 60


def faults_of(sim: SimulatedStudy, wave: str, fault: str) -> pd.DataFrame:
    faults = sim.waves[wave].faults
    return faults[faults["fault"] == fault]


def rows_of(sim: SimulatedStudy, wave: str, fault: str) -> pd.DataFrame:
    """The wave rows carrying ``fault``, found through the truth's row numbers."""
    return sim.waves[wave].frame.iloc[faults_of(sim, wave, fault)["row_number"] - 1]


def test_truth_table_has_the_documented_columns_and_classes(
    large_simulation: SimulatedStudy,
) -> None:
    faults = large_simulation.faults
    assert tuple(faults.columns) == FAULT_COLUMNS
    assert set(faults["fault"]) == set(FAULT_CLASSES)
    for name, wave in large_simulation.waves.items():
        frame = wave.frame
        rows = wave.faults["row_number"] - 1
        assert (frame["_uuid"].to_numpy()[rows] == wave.faults["submission"].to_numpy()).all()
        assert (
            frame["respondent_id"].to_numpy()[rows] == wave.faults["respondent"].to_numpy()
        ).all()
        assert (wave.faults["wave"] == name).all()
        # One fault per row: the classes never overlap.
        assert wave.faults["row_number"].is_unique


@pytest.mark.parametrize(
    "fault", ["duplicate_submission", "speeder", "straightliner", "out_of_range", "missing_consent"]
)
def test_each_row_fault_is_planted_at_its_rate(
    large_simulation: SimulatedStudy, fault: str
) -> None:
    rate = large_simulation.settings.fault_rate(fault)
    for name, wave in large_simulation.waves.items():
        interviews = len(wave.frame) - len(
            faults_of(large_simulation, name, "duplicate_submission")
        )
        assert len(faults_of(large_simulation, name, fault)) == round(rate * interviews)


def test_one_enumerator_fabricates_all_his_interviews(large_simulation: SimulatedStudy) -> None:
    settings = large_simulation.settings
    for name, wave in large_simulation.waves.items():
        fabricated = rows_of(large_simulation, name, "fabricated")
        assert fabricated["enumerator_id"].nunique() == 1
        copies = faults_of(large_simulation, name, "duplicate_submission")
        interviews = wave.frame.iloc[: len(wave.frame) - len(copies)]
        his = interviews["enumerator_id"] == fabricated["enumerator_id"].iloc[0]
        assert len(fabricated) == his.sum()
        assert len(fabricated) / len(wave.frame) == pytest.approx(
            1 / settings.n_enumerators, abs=0.03
        )
        # Short-ish but outside the speeder zone, and near-identical answer vectors.
        assert (
            minutes(fabricated)
            .between(
                0.3 * settings.typical_duration_minutes, 0.6 * settings.typical_duration_minutes
            )
            .all()
        )
        answers = fabricated[[*TRUST, "risk_death", "wish_to_leave", "decision_who"]].to_numpy()
        mode_share = np.mean(
            [np.unique(c, return_counts=True)[1].max() / len(c) for c in answers.T]
        )
        assert mode_share > 0.8


def test_planted_rows_show_their_fault(large_simulation: SimulatedStudy) -> None:
    typical = large_simulation.settings.typical_duration_minutes
    for name in large_simulation.waves:
        assert (minutes(rows_of(large_simulation, name, "speeder")) < 0.2 * typical).all()
        straight = rows_of(large_simulation, name, "straightliner")[TRUST].to_numpy()
        assert (straight == straight[:, :1]).all()
        assert (rows_of(large_simulation, name, "missing_consent")["consent"] == 0).all()
        frame = large_simulation.waves[name].frame
        for _, fault in faults_of(large_simulation, name, "out_of_range").iterrows():
            value = frame.at[fault["row_number"] - 1, fault["column"]]
            assert value > 100 or value in (0, 2, 3, 6, 7)
            assert fault["detail"] == f"value {value}"
        copies = rows_of(large_simulation, name, "duplicate_submission")
        first = frame.iloc[: len(frame) - len(copies)]
        assert copies["respondent_id"].isin(first["respondent_id"]).all()


def test_duplicates_are_identical_resends_or_near_identical_re_entries(
    large_simulation: SimulatedStudy,
) -> None:
    frame = large_simulation.waves["baseline"].frame
    faults = faults_of(large_simulation, "baseline", "duplicate_submission")
    item_columns = frame.columns[frame.columns.get_loc("trust_own_government") :]
    kinds = set()
    for _, fault in faults.iterrows():
        copy = frame.iloc[fault["row_number"] - 1]
        original = frame.iloc[int(fault["detail"].split("row ")[1].split(" ")[0]) - 1]
        assert copy["respondent_id"] == original["respondent_id"]
        differing = int((copy[item_columns] != original[item_columns]).sum())
        if copy["_uuid"] == original["_uuid"]:
            assert differing == 0 and copy["start"] == original["start"]
            kinds.add("resend")
        else:
            assert differing <= 2
            kinds.add("re-entry")
    assert kinds == {"resend", "re-entry"}


def test_clean_rows_are_really_clean(large_simulation: SimulatedStudy) -> None:
    settings = large_simulation.settings
    instrument = large_simulation.study.resolved_instrument()
    specials = {code.code for code in instrument.special_codes.values()}
    for name, wave in large_simulation.waves.items():
        clean = wave.frame.drop(index=wave.faults["row_number"] - 1)
        assert (minutes(clean) >= 0.5 * settings.typical_duration_minutes).all()
        battery = clean[TRUST].to_numpy()
        assert not (battery == battery[:, :1]).all(axis=1).any()
        assert (clean["consent"] == 1).all()
        assert clean["respondent_id"].is_unique
        for item in instrument.items:
            low, high = item.bounds
            for column in item.stored_names():
                values = clean[column]
                valid = values.isin(specials)
                if item.valid_codes is not None:
                    valid |= values.isin(item.valid_codes)
                else:
                    valid |= values.between(
                        low if low is not None else -np.inf, high if high is not None else np.inf
                    )
                assert valid.all(), (name, column)


def test_settings_without_faults_plant_none(clean_simulation: SimulatedStudy) -> None:
    assert clean_simulation.faults.empty
    assert tuple(clean_simulation.faults.columns) == FAULT_COLUMNS


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n_clusters": 3, "n_strata": 2}, "each stratum needs at least two communities"),
        ({"respondents_per_cluster": 0}, "respondents_per_cluster must be at least 1"),
        ({"n_enumerators": 0}, "n_enumerators must lie between 1 and n_clusters"),
        ({"icc": 1.5}, r"icc must lie in \[0, 1\)"),
        ({"attrition": (0.2, 0.1)}, "attrition is cumulative and cannot fall"),
        ({"fault_rates": {"speeders": 0.1}}, r"unknown fault_rates keys \['speeders'\]"),
        (
            {"fault_rates": {"speeder": 0.3, "straightliner": 0.3}},
            "the row-fault rates add up to 0.60",
        ),
        (
            {"fault_rates": {"fabricating_enumerator": 2.0}},
            r"fault_rates\['fabricating_enumerator'\] must lie in \[0, 1\]",
        ),
        ({"persistence": ()}, "persistence needs at least one value"),
    ],
)
def test_simulation_settings_reject_impossible_values(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SimulationSettings(**changes)  # type: ignore[arg-type]
