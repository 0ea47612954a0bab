"""`trustshift init --xlsform` on public XLSForms the project did not write (see PROVENANCE.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.instrument import load_instrument
from flows.xlsform import convert_xlsform
from tests.flows.xlsform.exports import kobo_export

FORMS = Path(__file__).resolve().parents[2] / "data" / "xlsforms"
runner = CliRunner()

# Counted by hand from each form's survey sheet: select_one (not from a file), select_multiple
# and integer questions; notes, text, calculate, media and metadata are not items.
EXPECTED_ITEMS = {"waste_collection.xlsx": 31, "camping.xlsx": 18, "thamel.xls": 35}


def _init(tmp_path: Path, form: str) -> Path:
    folder = tmp_path / Path(form).stem
    result = runner.invoke(
        app, ["init", str(folder), "--id", "xlsform_study", "--xlsform", str(FORMS / form)]
    )
    assert result.exit_code == 0, result.output
    return folder


@pytest.mark.parametrize("form", sorted(EXPECTED_ITEMS))
def test_init_writes_an_instrument_with_every_analysable_question(
    tmp_path: Path, form: str
) -> None:
    folder = _init(tmp_path, form)
    instrument = load_instrument(folder / "instrument.toml")
    assert len(instrument.items) == EXPECTED_ITEMS[form]
    study = tomllib.loads((folder / "study.toml").read_text(encoding="utf-8"))
    assert study["instrument"]["base"] == "instrument.toml"
    assert (folder / "inbox").is_dir()


def test_select_one_choices_become_codes_with_the_choice_names_as_labels(tmp_path: Path) -> None:
    instrument = load_instrument(_init(tmp_path, "waste_collection.xlsx") / "instrument.toml")
    satisfaction = instrument.item("roads")
    # The form's list `satisfaction`, in the order of its choices sheet (not an ordered scale:
    # "satisfied" comes before "verysatisfied", which is why select_one stays categorical).
    assert satisfaction.scale == "categorical"
    assert list(satisfaction.labels.values()) == [
        "satisfied",
        "verysatisfied",
        "neutral",
        "dissatisfied",
        "verydissatisfied",
    ]
    assert instrument.item("age").scale == "count"
    assert instrument.item("reuse").construct_name == "storing"  # the form's group


def test_yes_no_questions_become_binary_and_select_multiple_one_item_per_choice(
    tmp_path: Path,
) -> None:
    instrument = load_instrument(_init(tmp_path, "camping.xlsx") / "instrument.toml")
    fee = instrument.item("fee")
    assert fee.scale == "binary"
    assert {fee.labels["1"], fee.labels["0"]} == {"yes", "no"}
    features = instrument.item("features")
    assert features.scale == "select_multiple"
    assert features.stored_names()[0].startswith("features__")


def test_relevance_becomes_contradiction_rules_on_the_skipped_answers() -> None:
    conversion = convert_xlsform(FORMS / "waste_collection.xlsx")
    # fee is asked when ${dispose} != 'yourself': an answer beside dispose = yourself breaks it.
    rules = [rule for rule in conversion.skip_rules if rule.other_item == "fee"]
    assert len(rules) == 1
    assert rules[0].item == "dispose"
    assert rules[0].other_values == [1.0, 2.0, 3.0]


def test_a_constraint_range_becomes_the_items_bounds(tmp_path: Path) -> None:
    form = tmp_path / "ages.md"
    form.write_text(
        "| survey |\n"
        "| | type | name | label | constraint | required | relevant |\n"
        "| | integer | age | Age | . >= 15 and . <= 99 | yes | |\n"
        "| | decimal | spend | Spending | . >= 0 | | |\n"
        "| | integer | moved | Moves | . >= 0 or . = -1 | | |\n"
        "| | select_multiple src | sources | Sources | | | |\n"
        "| | select_one yn | radio_trust | Trust radio? | | | selected(${sources}, 'radio') |\n"
        "| choices |\n"
        "| | list_name | name | label |\n"
        "| | src | radio | Radio |\n"
        "| | src | tv | TV |\n"
        "| | yn | yes | Yes |\n"
        "| | yn | no | No |\n",
        encoding="utf-8",
    )
    conversion = convert_xlsform(form)
    assert "minimum = 15\nmaximum = 99" in conversion.instrument_toml
    assert "# required in the form" in conversion.instrument_toml
    assert any("moved" in line and "partly" in line for line in conversion.untranslated)
    # A condition on one choice of a select_multiple is listed, not turned into a rule.
    assert conversion.skip_rules == []
    assert any(
        "radio_trust" in line and "select_multiple" in line for line in conversion.untranslated
    )


@pytest.mark.parametrize("form", sorted(EXPECTED_ITEMS))
def test_the_instrument_ingests_a_matching_kobo_export(tmp_path: Path, form: str) -> None:
    folder = _init(tmp_path, form)
    study_file = folder / "study.toml"
    for seed, wave in enumerate(["baseline", "endline"]):
        export = kobo_export(FORMS / form, n_rows=24, seed=seed, wave=wave)
        export.to_csv(folder / "inbox" / f"{wave}.csv", index=False)
    ingested = runner.invoke(app, ["ingest", str(study_file)])
    assert ingested.exit_code == 0, ingested.output
    assert "stored as version 1 (24 interviews" in ingested.output
    with duckdb.connect(str(folder / "warehouse" / "trustshift.duckdb"), read_only=True) as db:
        (items,) = db.execute("SELECT count(DISTINCT item) FROM answers").fetchone() or (0,)
    # select_multiple items are stored one column per choice: at least one per question.
    assert items >= EXPECTED_ITEMS[form]


def test_only_an_answer_the_form_would_have_skipped_is_quarantined(tmp_path: Path) -> None:
    folder = _init(tmp_path, "waste_collection.xlsx")
    study_file = folder / "study.toml"
    export = kobo_export(FORMS / "waste_collection.xlsx", n_rows=24, seed=3, wave="baseline")
    export.loc[0, "storing/dispose"] = "yourself"
    export.loc[0, "storing/fee"] = "yes"  # fee is asked only when dispose != 'yourself'
    export.to_csv(folder / "inbox" / "baseline.csv", index=False)
    assert runner.invoke(app, ["ingest", str(study_file)]).exit_code == 0
    validated = runner.invoke(app, ["validate", str(study_file), "--wave", "baseline"])
    assert validated.exit_code == 0, validated.output
    with duckdb.connect(str(folder / "warehouse" / "trustshift.duckdb"), read_only=True) as db:
        rows = db.execute("SELECT row_number, reason FROM quarantine").fetchall()
    assert [row_number for row_number, _ in rows] == [1]
    assert "skip_fee_dispose_4" in rows[0][1]
