"""Study and instrument files: valid ones load, invalid ones name the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.errors import StudyFileError
from flows.instrument import load_instrument
from flows.study import load_study

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "studies" / "example" / "study.toml"


def test_the_bundled_instrument_covers_every_construct_of_the_domain() -> None:
    instrument = load_instrument("migration_campaign")
    trust_items = [i for i in instrument.items if i.name.startswith("trust_")]
    assert len(trust_items) >= 12
    domains = {c.domain for c in instrument.constructs}
    assert {"trust", "risk", "knowledge", "intention", "alternatives", "decision"} <= domains
    assert {"exposure", "background"} <= domains
    for name in (
        "wish_to_leave",
        "plan_12_months",
        "preparations_made",
        "irregular_intention",
        "legal_intention",
        "intended_destination",
        "feel_informed",
        "exposure_recall",
        "family_pressure",
        "local_opportunities",
        "relatives_abroad",
    ):
        assert name in instrument.item_names
    assert any(i.true_value is not None for i in instrument.items_of("risk_perception"))
    assert all(i.correct_answer is not None for i in instrument.items_of("knowledge"))
    codes = {name: code.code for name, code in instrument.special_codes.items()}
    assert len(set(codes.values())) == 4 and {"dont_know", "never_heard"} <= set(codes)


def test_the_example_study_loads_with_its_instrument() -> None:
    study = load_study(EXAMPLE)
    assert study.wave_names == ["baseline", "endline", "follow_up"]
    assert study.resolved_instrument().id == "migration_campaign"
    assert len(study.file_hash) == 64


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def test_an_unknown_key_is_rejected_with_its_path(tmp_path: Path) -> None:
    text = example_text().replace("[columns]\n", "[columns]\nrespondant = 'x'\n")
    with pytest.raises(StudyFileError, match=r"columns\.respondant: unknown key; remove it"):
        load_study(write(tmp_path, text))


def test_a_wrong_type_is_rejected_with_its_path_and_value(tmp_path: Path) -> None:
    text = example_text().replace("minimum_cell_size = 10", "minimum_cell_size = 'ten'")
    with pytest.raises(StudyFileError, match=r"design\.minimum_cell_size: .*'ten'"):
        load_study(write(tmp_path, text))


def test_an_unknown_design_is_rejected_with_the_valid_options(tmp_path: Path) -> None:
    text = example_text().replace('"cluster_randomised"', '"stepped_wedge"')
    with pytest.raises(StudyFileError, match=r"design\.assignment: .*cluster_randomised"):
        load_study(write(tmp_path, text))


def test_an_outcome_that_is_not_in_the_instrument_is_rejected(tmp_path: Path) -> None:
    text = example_text().replace('"irregular_intention", "risk_perception"', '"happiness"')
    with pytest.raises(StudyFileError, match=r"outcome 'happiness' is neither an item"):
        load_study(write(tmp_path, text))


def test_a_categorical_outcome_is_rejected(tmp_path: Path) -> None:
    text = example_text().replace('"irregular_intention", "risk_perception"', '"decision_who"')
    with pytest.raises(StudyFileError, match=r"outcome 'decision_who' is a categorical item"):
        load_study(write(tmp_path, text))


def test_a_missing_study_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(StudyFileError, match=r"no study file at .*absent\.toml"):
        load_study(tmp_path / "absent.toml")


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StudyFileError, match=r"is not valid TOML"):
        load_study(write(tmp_path, "id = \n"))


def test_a_randomised_study_needs_an_arm(tmp_path: Path) -> None:
    text = example_text().replace(
        'arm = { column = "arm", treatment = ["campaign"], comparison = ["comparison"] }\n', ""
    )
    with pytest.raises(StudyFileError, match=r"needs the arm column"):
        load_study(write(tmp_path, text))


def test_a_study_extends_the_instrument_with_its_own_items(tmp_path: Path) -> None:
    text = example_text().replace(
        '[instrument]\nbase = "migration_campaign"\n',
        '[instrument]\nbase = "migration_campaign"\ndrop_items = ["monthly_income"]\n'
        "[[instrument.items]]\n"
        'name = "trust_radio_host"\nconstruct = "trust_media"\nscale = "likert"\n'
        'question = "How much do you trust the local radio host?"\nminimum = 1\nmaximum = 5\n',
    )
    text = text.replace('primary = ["irregular_intention"', 'primary = ["trust_radio_host"')
    study = load_study(write(tmp_path, text))
    instrument = study.resolved_instrument()
    assert "trust_radio_host" in instrument.item_names
    assert "monthly_income" not in instrument.item_names


def test_an_item_with_an_undeclared_construct_is_rejected(tmp_path: Path) -> None:
    text = example_text().replace(
        '[instrument]\nbase = "migration_campaign"\n',
        '[instrument]\nbase = "migration_campaign"\n[[instrument.items]]\n'
        'name = "x_item"\nconstruct = "nowhere"\nscale = "binary"\nquestion = "?"\n',
    )
    with pytest.raises(StudyFileError, match=r"construct 'nowhere' is not declared"):
        load_study(write(tmp_path, text))


def test_not_applicable_as_zero_takes_only_binary_items(tmp_path: Path) -> None:
    text = example_text().replace('"plan_12_months", "preparations_made"]', '"age"]', 1)
    with pytest.raises(StudyFileError, match=r"not_applicable_as_zero names 'age'"):
        load_study(write(tmp_path, text))


def test_the_primary_wave_must_follow_the_baseline(tmp_path: Path) -> None:
    text = example_text().replace('primary_wave = "endline"', 'primary_wave = "baseline"')
    with pytest.raises(StudyFileError, match=r"outcomes\.primary_wave: .*'baseline' is not a wave"):
        load_study(write(tmp_path, text))


def test_the_study_states_which_inference_it_reads(tmp_path: Path) -> None:
    default = load_study(write(tmp_path, example_text()))
    assert default.inference.few_clusters_below == 42
    assert default.inference.few_clusters_method == "cr2"
    assert default.inference.vcov_for(41) == "CR2" and default.inference.vcov_for(42) == "CR1"
    text = example_text() + (
        '\n[inference]\nfew_clusters_below = 20\nfew_clusters_method = "wild_bootstrap"\n'
        'many_clusters_method = "cr2"\n'
    )
    chosen = load_study(write(tmp_path, text))
    assert chosen.inference.few_clusters_method == "wild_bootstrap"
    assert chosen.inference.vcov_for(60) == "CR2"


def test_an_unknown_inference_method_is_rejected_with_the_valid_options(tmp_path: Path) -> None:
    text = example_text() + '\n[inference]\nfew_clusters_method = "cr1"\n'
    with pytest.raises(StudyFileError, match=r"inference\.few_clusters_method: .*wild_bootstrap"):
        load_study(write(tmp_path, text))


def test_the_init_template_documents_the_inference_keys() -> None:
    template = (Path(__file__).parents[2] / "data" / "templates" / "study.toml").read_text()
    for key in (
        "few_clusters_below",
        "few_clusters_method",
        "many_clusters_method",
        "assignment_record",
    ):
        assert key in template
