"""The design stage from a user's study file: plan lock, design tables, assignment."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.assignment_record import check_record_against_data, read_assignment_record
from flows.cli import app
from flows.errors import DataQualityError, StudyFileError
from flows.estimation import estimate_study, read_result
from flows.ingest import ingest_wave
from flows.plan import plan_deviations, read_plan
from flows.report import build_report
from flows.study import load_study
from measurement.rerandomization import standardized_differences
from tests.flows.estimation.survey import SurveySettings, write_survey_study

runner = CliRunner()


def test_a_locked_plan_then_a_changed_primary_outcome_is_a_deviation_in_the_report(
    tmp_path: Path,
) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="planned"))
    study = load_study(study_file)
    ingest_wave(study, study.inbox / "baseline.csv")
    locked = runner.invoke(app, ["plan", "lock", str(study_file)])
    assert locked.exit_code == 0, locked.output
    plan = read_plan(study)
    assert plan is not None and plan.sha256 in locked.output
    assert plan.primary == ["irregular_intention", "risk_perception", "trust_official"]

    ingest_wave(study, study.inbox / "endline.csv")
    # Once the endline is stored a new lock is refused unless the reason is given.
    refused = runner.invoke(app, ["plan", "lock", str(study_file)])
    assert refused.exit_code == 2
    assert "already stored" in refused.output and "--reason" in refused.output

    text = study_file.read_text(encoding="utf-8").replace(
        'primary = ["irregular_intention", "risk_perception", "trust_official"]',
        'primary = ["irregular_intention", "risk_self_death", "trust_official"]',
    )
    study_file.write_text(text, encoding="utf-8")
    changed = load_study(study_file)
    run = estimate_study(changed, bootstrap_draws=49, lee_draws=10, seed=3)
    report = build_report(changed, run_id=run.run_id, out_dir=tmp_path / "report")
    page = report.read_text(encoding="utf-8")
    methods = page[page.index('id="methods"') :]
    assert plan.sha256 in methods
    assert "Deviations from the plan" in methods
    # the deviation names the outcomes by their labels, as the rest of the report
    assert (
        "added [&#39;Own risk of dying on the way&#39;], dropped "
        "[&#39;Perceived risks of the irregular journey&#39;]"
    ) in methods
    # The scorecard reads the plan's mapping and names the plan as its source.
    assert "the locked pre-analysis plan" in page


def test_a_late_lock_with_a_reason_is_recorded_and_a_tampered_plan_is_refused(
    tmp_path: Path,
) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="late"))
    study = load_study(study_file)
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    result = runner.invoke(
        app, ["plan", "lock", str(study_file), "--reason", "protocol registered on paper"]
    )
    assert result.exit_code == 0, result.output
    stored = json.loads((study.root / "plan.lock.json").read_text(encoding="utf-8"))
    assert stored["reason"] == "protocol registered on paper"
    assert stored["stored_waves_at_lock"] == ["baseline", "endline"]
    stored["content"]["primary_outcomes"] = ["trust_official"]
    (study.root / "plan.lock.json").write_text(json.dumps(stored), encoding="utf-8")
    shown = runner.invoke(app, ["plan", "show", str(study_file)])
    assert shown.exit_code == 2
    assert "changed after it was locked" in shown.output


def test_design_prints_the_mde_of_each_primary_outcome_and_writes_power_curves(
    tmp_path: Path,
) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="designed"))
    html = tmp_path / "curves.html"
    result = runner.invoke(
        app,
        ["design", str(study_file), "--clusters", "40", "--cluster-size", "15", "--icc", "0.05",
         "--html", str(html)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # 40 x 15, ICC 0.05, ANCOVA without R²: MDE 0.306 SD (measurement.power's doctest)
    assert "0.306" in result.output
    assert "irregular_intention" in result.output
    assert html.read_text(encoding="utf-8").count("<polyline") == 3
    bad = runner.invoke(app, ["design", str(study_file), "--icc", "high"])
    assert bad.exit_code == 2 and "is not a number" in bad.output


def test_design_reads_icc_and_r_squared_from_the_stored_waves(tmp_path: Path) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="pilot"))
    study = load_study(study_file)
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    result = runner.invoke(
        app,
        ["design", str(study_file), "--from-baseline", "--clusters", "60", "--simulations", "3"],
    )
    assert result.exit_code == 0, result.output
    assert "From the stored waves" in result.output and "baseline R²" in result.output
    assert "Design diagnosis: 3 simulated studies per outcome" in result.output


def test_assign_writes_the_arm_column_reproducibly_with_its_record(tmp_path: Path) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="assigned"))
    units = tmp_path / "communities.csv"
    pd.DataFrame(
        {
            "community": [f"c{i}" for i in range(20)],
            "region": ["north"] * 10 + ["south"] * 10,
            "population": range(100, 2100, 100),
        }
    ).to_csv(units, index=False)
    arguments = ["assign", str(study_file), "--units", str(units), "--seed", "9",
                 "--covariates", "population", "--max-difference", "0.2"]  # fmt: skip
    first = runner.invoke(app, [*arguments, "--out", str(tmp_path / "a.csv")])
    second = runner.invoke(app, [*arguments, "--out", str(tmp_path / "b.csv")])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    drawn = pd.read_csv(tmp_path / "a.csv")
    assert drawn.groupby("region")["arm"].value_counts().unstack().eq(5).all().all()
    record = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert record["seed"] == 9 and record["draws"] >= 1
    assert record["rule"]["kind"] == "max_abs_standardized_difference"
    assert record["rule"]["covariates"] == ["population"] and record["rule"]["threshold"] == 0.2
    assert [row["values"] for row in record["units"]] == [[float(v)] for v in range(100, 2100, 100)]
    assert [row["treated"] for row in record["units"]] == list((drawn["arm"] == "campaign") * 1)
    assert len(record["units_sha256"]) == 64 and record["units_file"] == "communities.csv"
    assert abs(record["balance"][0]["standardized_difference"]) <= 0.2
    assert second.exit_code == 0
    wrong = tmp_path / "villages.csv"
    pd.DataFrame({"village": ["a", "b"]}).to_csv(wrong, index=False)
    missing = runner.invoke(app, ["assign", str(study_file), "--units", str(wrong), "--seed", "1"])
    assert missing.exit_code == 2
    assert "has no column 'community'" in missing.output
    no_covariates = runner.invoke(
        app, ["assign", str(study_file), "--units", str(units), "--seed", "1",
              "--max-difference", "0.1"],
    )  # fmt: skip
    assert no_covariates.exit_code == 2 and "needs --covariates" in no_covariates.output
    zeros = tmp_path / "zeros.csv"
    zeros.write_text("community,region\n007,north\n008,north\n010,south\n011,south\n")
    kept = runner.invoke(
        app, ["assign", str(study_file), "--units", str(zeros), "--seed", "1", "--out",
              str(tmp_path / "zeros_assignment.csv")],
    )  # fmt: skip
    assert kept.exit_code == 0, kept.output
    record = json.loads((tmp_path / "zeros_assignment.json").read_text(encoding="utf-8"))
    assert [row["unit"] for row in record["units"]] == ["007", "008", "010", "011"]
    assert (tmp_path / "zeros_assignment.csv").read_text().splitlines()[1].startswith("007,")


def rerandomised_study(tmp_path: Path) -> tuple[Path, Path]:
    """A study whose arm column comes from `trustshift assign` with a rule on population."""
    study_file = write_survey_study(
        tmp_path / "study", SurveySettings(study_id="rerandomised", n_clusters=8)
    )
    units = study_file.parent / "communities.csv"
    pd.DataFrame(
        {
            "community": [f"C{i:02d}" for i in range(8)],
            "region": ["north" if i % 2 == 0 else "south" for i in range(8)],
            "population": [420, 980, 610, 1500, 230, 760, 1310, 540],
        }
    ).to_csv(units, index=False)
    drawn = runner.invoke(
        app,
        ["assign", str(study_file), "--units", str(units), "--seed", "4", "--covariates",
         "population", "--max-difference", "0.3", "--out",
         str(study_file.parent / "assignment.csv")],
    )  # fmt: skip
    assert drawn.exit_code == 0, drawn.output
    arms = pd.read_csv(study_file.parent / "assignment.csv").set_index("community")["arm"]
    for wave in (study_file.parent / "inbox").iterdir():
        frame = pd.read_csv(wave)
        frame["arm"] = frame["community"].map(arms)
        frame.to_csv(wave, index=False)
    text = study_file.read_text(encoding="utf-8")
    study_file.write_text(
        text + '\n[inference]\nassignment_record = "assignment.json"\n', encoding="utf-8"
    )
    return study_file, units


def test_the_runs_randomization_inference_draws_only_what_the_recorded_rule_accepts(
    tmp_path: Path,
) -> None:
    study_file, units = rerandomised_study(tmp_path)
    study = load_study(study_file)
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    run = estimate_study(study, bootstrap_draws=49, lee_draws=10, seed=3)
    estimates = read_result(study, "estimates", run.run_id)
    settings = read_result(study, "run_settings", run.run_id).set_index("name")["value"]
    stored = json.loads((study_file.parent / "assignment.json").read_text(encoding="utf-8"))
    assert settings["assignment_record_sha256"] == stored["sha256"]
    rows = estimates[estimates["p_value_randomization"].notna()]
    assert not rows.empty
    # By hand: 2 of 4 communities per region are treated, 36 assignments; the rule keeps
    # those whose population difference is within 0.3 SD (over the 8 communities).
    record = json.loads((study_file.parent / "assignment.json").read_text(encoding="utf-8"))
    population = np.array([[row["values"][0]] for row in record["units"]])
    strata = np.array([row["stratum"] for row in record["units"]])
    candidates = []
    for north in itertools.combinations(np.flatnonzero(strata == "north"), 2):
        for south in itertools.combinations(np.flatnonzero(strata == "south"), 2):
            chosen = np.zeros(8)
            chosen[[*north, *south]] = 1
            candidates.append(chosen)
    accepted = int(
        np.sum(np.abs(standardized_differences(population, np.array(candidates)))[:, 0] <= 0.3)
    )
    assert 1 < accepted < 36
    for row in rows.itertuples():
        assert f"all {accepted} assignments" in row.inference
        assert "re-randomization rule: max |standardized difference| <= 0.3" in row.inference
        count = row.p_value_randomization * accepted
        assert count == pytest.approx(round(count), abs=1e-6)
    # The units file edited after assignment: the run refuses, naming the file.
    frame = pd.read_csv(units)
    frame.loc[0, "population"] += 1
    frame.to_csv(units, index=False)
    with pytest.raises(DataQualityError, match="changed since the assignment was drawn"):
        estimate_study(study, bootstrap_draws=49, lee_draws=10, seed=3)


def test_a_record_whose_arms_differ_from_the_data_is_refused(tmp_path: Path) -> None:
    study_file, _ = rerandomised_study(tmp_path)
    record = read_assignment_record(load_study(study_file))
    assert record is not None and record.rule is not None
    frame = pd.DataFrame({"cluster": [f"C{i:02d}" for i in range(8)]})
    frame["treated"] = [float(record.treated[record.units.index(c)]) for c in frame["cluster"]]
    check_record_against_data(record, frame)
    with pytest.raises(DataQualityError, match="8 of 8 clusters are in a different arm"):
        check_record_against_data(record, frame.assign(treated=1 - frame["treated"]))
    with pytest.raises(DataQualityError, match="arm varies within 1 clusters"):
        check_record_against_data(
            record, pd.concat([frame, frame.iloc[:1].assign(treated=1 - frame["treated"][0])])
        )
    broken = study_file.read_text(encoding="utf-8").replace('"assignment.json"', '"gone.json"')
    study_file.write_text(broken, encoding="utf-8")
    with pytest.raises(StudyFileError, match="no file at"):
        read_assignment_record(load_study(study_file))
    edited = json.loads((study_file.parent / "assignment.json").read_text(encoding="utf-8"))
    edited["units"][0]["treated"] = 1 - edited["units"][0]["treated"]
    (study_file.parent / "gone.json").write_text(json.dumps(edited), encoding="utf-8")
    with pytest.raises(StudyFileError, match="changed after assignment"):
        read_assignment_record(load_study(study_file))


def test_an_unreadable_or_misplaced_assignment_record_names_the_fix(tmp_path: Path) -> None:
    study_file, units = rerandomised_study(tmp_path)
    record_file = study_file.parent / "assignment.json"
    kept = record_file.read_text(encoding="utf-8")
    record_file.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(StudyFileError, match="does not hold a JSON object"):
        read_assignment_record(load_study(study_file))
    record_file.write_text("{not json", encoding="utf-8")
    with pytest.raises(StudyFileError, match="cannot be read as JSON"):
        read_assignment_record(load_study(study_file))
    record_file.write_text(kept, encoding="utf-8")
    pd.read_csv(units).drop(columns="population").to_csv(units, index=False)
    with pytest.raises(DataQualityError, match="no longer has the columns \\['population'\\]"):
        read_assignment_record(load_study(study_file))
    units.write_bytes(b"community,region\n\xff\xfe\xfa,\x81\n")
    with pytest.raises(DataQualityError, match="cannot be read"):
        read_assignment_record(load_study(study_file))
    individual = study_file.read_text(encoding="utf-8").replace(
        'assignment = "cluster_randomised"', 'assignment = "individually_randomised"'
    )
    study_file.write_text(individual, encoding="utf-8")
    with pytest.raises(StudyFileError, match="re-draws a recorded cluster assignment only"):
        read_assignment_record(load_study(study_file))


def test_the_locked_plan_freezes_the_assignment_record_and_a_new_one_is_a_deviation(
    tmp_path: Path,
) -> None:
    study_file, units = rerandomised_study(tmp_path)
    study = load_study(study_file)
    locked = runner.invoke(app, ["plan", "lock", str(study_file)])
    assert locked.exit_code == 0, locked.output
    plan = read_plan(study)
    stored = json.loads((study_file.parent / "assignment.json").read_text(encoding="utf-8"))
    assert plan is not None and plan.content["assignment_record_sha256"] == stored["sha256"]
    assert not [line for line in plan_deviations(plan, study) if "assignment record" in line]

    # Re-drawn with another seed after the lock: the run's inference would use another record.
    drawn = runner.invoke(
        app,
        ["assign", str(study_file), "--units", str(units), "--seed", "5", "--covariates",
         "population", "--max-difference", "0.3", "--out",
         str(study_file.parent / "redrawn.csv")],
    )  # fmt: skip
    assert drawn.exit_code == 0, drawn.output
    study_file.write_text(
        study_file.read_text(encoding="utf-8").replace('"assignment.json"', '"redrawn.json"'),
        encoding="utf-8",
    )
    redrawn = json.loads((study_file.parent / "redrawn.json").read_text(encoding="utf-8"))
    assert redrawn["sha256"] != stored["sha256"]
    deviations = plan_deviations(plan, load_study(study_file))
    assert [line for line in deviations if "assignment record" in line] == [
        f"assignment record: the plan's randomization inference re-draws the record with "
        f"SHA-256 {stored['sha256']}; the run used {redrawn['sha256']}"
    ]
