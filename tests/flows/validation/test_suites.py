"""Suites generated from a study: names, files, loading and counting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.study import Study
from flows.validation import build_suites, load_suites, write_suites

EXPECTATIONS_DIR = Path(__file__).resolve().parents[3] / "expectations"


def test_build_suites_names_every_suite_after_the_study_without_dots(
    example_study: Study,
) -> None:
    suites = build_suites(example_study)
    assert {
        "example_structure",
        "example_design",
        "example_items",
        "example_fieldwork_baseline",
        "example_fieldwork_endline",
        "example_fieldwork_follow_up",
        "example_field_quality",
        "example_item_rates",
        "example_enumerators",
        "example_cross_wave",
        "example_follow_up",
    } == set(suites)
    for name, suite in suites.items():
        assert "." not in name
        assert suite["name"] == name
        for expectation in suite["expectations"]:
            assert expectation["meta"]["severity"] in ("structural", "row", "warning")


def test_build_suites_allows_each_items_declared_missing_codes(example_study: Study) -> None:
    items = build_suites(example_study)["example_items"]["expectations"]
    by_column = {e["kwargs"]["column"]: e for e in items}
    assert by_column["trust_eu"]["kwargs"]["value_set"] == [
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
        -99.0,
        -88.0,
        -66.0,
    ]
    risk = by_column["risk_death"]["kwargs"]
    assert (risk["min_value"], risk["max_value"]) == (0.0, 100.0)
    assert "row_condition" not in risk
    assert by_column["risk_death"]["meta"]["missing_codes"] == [-99.0, -88.0]
    assert by_column["preparations__saved_money"]["kwargs"]["value_set"] == [0.0, 1.0, -99.0, -77.0]


def test_write_then_load_suites_keeps_every_expectation(
    example_study: Study, tmp_path: Path
) -> None:
    paths = write_suites(example_study, tmp_path)
    loaded = load_suites(tmp_path, example_study)
    assert {path.stem for path in paths} == set(loaded)
    for path in paths:
        declared = json.loads(path.read_text())["expectations"]
        assert len(loaded[path.stem]["expectations"]) == len(declared)


def test_load_suites_fails_loudly_on_an_expectation_gx_does_not_know(
    example_study: Study, tmp_path: Path
) -> None:
    write_suites(example_study, tmp_path)
    path = tmp_path / "example_design.json"
    suite = json.loads(path.read_text())
    suite["expectations"].append(
        {
            "type": "expect_column_values_to_be_plausible",
            "kwargs": {"column": "age"},
            "meta": {"severity": "warning"},
        }
    )
    path.write_text(json.dumps(suite))
    with pytest.raises(
        ValueError,
        match=r"declares 12 expectations but Great Expectations "
        r"understood 11; not understood: \['expect_column_values_to_be_plausible'\]",
    ):
        load_suites(tmp_path, example_study)


def test_load_suites_rejects_an_expectation_without_a_severity(
    example_study: Study, tmp_path: Path
) -> None:
    write_suites(example_study, tmp_path)
    path = tmp_path / "example_items.json"
    suite = json.loads(path.read_text())
    del suite["expectations"][0]["meta"]["severity"]
    path.write_text(json.dumps(suite))
    with pytest.raises(ValueError, match=r"has meta\.severity None; set it to one of"):
        load_suites(tmp_path, example_study)


def test_load_suites_rejects_a_file_named_unlike_its_suite(
    example_study: Study, tmp_path: Path
) -> None:
    write_suites(example_study, tmp_path)
    (tmp_path / "example_items.json").rename(tmp_path / "example_other.json")
    with pytest.raises(ValueError, match="the file stem must equal the suite name"):
        load_suites(tmp_path, example_study)


def test_load_suites_names_the_missing_folder_content(example_study: Study, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Write them with write_suites"):
        load_suites(tmp_path, example_study)


def test_committed_example_suites_match_the_example_study(example_study: Study) -> None:
    # Regenerate with: python -c "from flows.study import load_study; from flows.validation
    # import write_suites; write_suites(load_study('data/studies/example'), 'expectations')"
    committed = load_suites(EXPECTATIONS_DIR, example_study)
    assert committed == build_suites(example_study)
