"""Ingestion: the warehouse holds coded, pseudonymised waves; raw files stay untouched."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from flows import api
from flows.errors import IngestError
from flows.ingest import file_checksum, ingest_wave
from flows.privacy import key_variable_name
from flows.study import load_study
from flows.warehouse import warehouse_path
from tests.flows.conftest import PII_VALUES


def ingest_inbox(study_file: Path) -> list[str]:
    study = load_study(study_file)
    return [ingest_wave(study, path).status for path in sorted(study.inbox.iterdir())]


def test_ingest_wave_stores_interviews_and_answers_with_missing_reasons(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    assert ingest_inbox(study_file) == ["stored", "stored"]
    study = load_study(study_file)
    stored = api.waves(study)
    assert stored["wave"].tolist() == ["baseline", "endline"]
    assert stored["rows_stored"].tolist() == [8, 8]
    answers = api.answers(study)
    baseline = answers[answers["wave"] == "baseline"].set_index(["row_number", "item"])
    assert baseline.loc[(3, "trust_iom_un"), "missing_reason"] == "dont_know"
    assert pd.isna(baseline.loc[(3, "trust_iom_un"), "value"])
    assert baseline.loc[(3, "trust_iom_un"), "answered_code"] == -88
    assert baseline.loc[(5, "risk_death"), "missing_reason"] == "refused"
    assert baseline.loc[(4, "risk_death"), "value"] == 40
    wide = api.responses(study)
    assert len(wide) == 16
    assert {"respondent", "cluster", "arm", "treated", "trust_iom_un", "risk_death"} <= set(
        wide.columns
    )
    assert wide.loc[wide["arm"] == "campaign", "treated"].eq(1).all()


def test_identifying_columns_never_reach_the_warehouse(small_study: Callable[..., Path]) -> None:
    study_file = small_study()
    ingest_inbox(study_file)
    study = load_study(study_file)
    columns = set(api.responses(study).columns)
    assert not columns & {"respondent_name", "phone", "gps_latitude", "gps_longitude"}
    warehouse_bytes = warehouse_path(study).read_bytes()
    for value in (*PII_VALUES, "R1"):
        assert value.encode("utf-8") not in warehouse_bytes, value
    # ...while the untouched raw copies keep them, in the archive only.
    archived = b"".join(p.read_bytes() for p in study.archive.rglob("*.csv"))
    assert PII_VALUES[0].encode("utf-8") in archived


def test_panel_ids_link_across_waves_after_hashing(small_study: Callable[..., Path]) -> None:
    study_file = small_study()
    ingest_inbox(study_file)
    wide = api.responses(load_study(study_file))
    by_wave = wide.pivot(index="row_number", columns="wave", values="respondent")
    assert (by_wave["baseline"] == by_wave["endline"]).all()
    assert by_wave["baseline"].nunique() == 8
    assert by_wave["baseline"].str.fullmatch(r"[0-9a-f]{64}").all()


def test_pseudonyms_follow_the_key_from_the_environment(
    small_study: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    study_file = small_study()
    monkeypatch.setenv(key_variable_name("small"), "a-key-that-is-long-enough-1")
    study = load_study(study_file)
    ingest_wave(study, study.inbox / "baseline.csv")
    first = api.responses(study)["respondent"].tolist()
    assert not (study.archive / ".pseudonym-key").exists()
    warehouse_path(study).unlink()
    monkeypatch.setenv(key_variable_name("small"), "a-key-that-is-long-enough-2")
    ingest_wave(study, study.inbox / "baseline.csv")
    second = api.responses(study)["respondent"].tolist()
    assert set(first).isdisjoint(second)


def test_reingesting_an_identical_file_is_a_no_op(small_study: Callable[..., Path]) -> None:
    study_file = small_study()
    ingest_inbox(study_file)
    study = load_study(study_file)
    before = warehouse_path(study).read_bytes()
    outcome = ingest_wave(study, study.inbox / "baseline.csv")
    assert outcome.status == "unchanged"
    assert "already stored" in outcome.message
    assert warehouse_path(study).read_bytes() == before


def test_a_changed_file_is_refused_unless_replace_is_asked(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study()
    ingest_inbox(study_file)
    study = load_study(study_file)
    changed = study.inbox / "baseline.csv"
    original = changed.read_bytes()
    changed.write_bytes(original.replace(b",40,", b",45,"))
    before = warehouse_path(study).read_bytes()
    with pytest.raises(IngestError, match=r"wave 'baseline' .* already stored .*--replace"):
        ingest_wave(study, changed)
    assert warehouse_path(study).read_bytes() == before

    outcome = ingest_wave(study, changed, replace=True)
    assert (outcome.status, outcome.version) == ("replaced", 2)
    history = api.waves(study)
    baseline = history[history["wave"] == "baseline"]
    assert baseline["status"].tolist() == ["replaced", "stored"]
    assert baseline["sha256"].tolist() == [
        hashlib.sha256(original).hexdigest(),
        file_checksum(changed),
    ]
    archived = sorted(p.name for p in (study.archive / "baseline").iterdir())
    assert len(archived) == 2
    answers = api.answers(study)
    risk = answers[(answers["wave"] == "baseline") & (answers["item"] == "risk_death")]
    assert 45 in risk["value"].tolist() and 40 not in risk["value"].tolist()


def test_raw_files_are_never_modified(small_study: Callable[..., Path]) -> None:
    study_file = small_study()
    study = load_study(study_file)
    checksums = {p.name: file_checksum(p) for p in study.inbox.iterdir()}
    ingest_inbox(study_file)
    assert {p.name: file_checksum(p) for p in study.inbox.iterdir()} == checksums
    for path in study.archive.rglob("*.csv"):
        assert file_checksum(path) in checksums.values()


def test_out_of_range_values_are_kept_for_review_under_the_quarantine_policy(
    small_study: Callable[..., Path],
) -> None:
    study_file = small_study(out_of_range="quarantine")
    study = load_study(study_file)
    baseline = study.inbox / "baseline.csv"
    baseline.write_text(
        baseline.read_text(encoding="utf-8").replace(",10,1\n", ",150,1\n", 1), encoding="utf-8"
    )
    ingest_wave(study, baseline)
    answers = api.answers(study)
    flagged = answers[answers["missing_reason"] == "out_of_range"]
    assert flagged[["item", "answered_code"]].values.tolist() == [["risk_death", 150.0]]
    assert flagged["value"].isna().all()


def test_a_missing_file_is_reported_with_its_path(small_study: Callable[..., Path]) -> None:
    study = load_study(small_study())
    with pytest.raises(IngestError, match=r"no file at .*nowhere\.csv"):
        ingest_wave(study, study.inbox / "nowhere.csv")


def test_responses_can_be_limited_to_some_waves(small_study: Callable[..., Path]) -> None:
    study_file = small_study()
    ingest_inbox(study_file)
    study = load_study(study_file)
    endline = api.responses(study, waves=["endline"])
    assert endline["wave"].unique().tolist() == ["endline"] and len(endline) == 8
    coded = api.responses(study, coded=True, waves=["baseline"])
    assert (coded["trust_iom_un"] == -88).sum() == 1
    assert api.responses(study, waves=[]).empty
