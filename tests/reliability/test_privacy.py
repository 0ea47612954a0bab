"""Privacy at rest: the raw zone is owner-only, the warehouse holds no identifying value and
records the key's fingerprint (never the key), and a changed key is refused."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from flows.ingest import ingest_wave
from flows.linkage import recorded_fingerprint
from flows.privacy import key_fingerprint
from flows.study import load_study
from flows.warehouse import connect, warehouse_path
from tests.reliability.conftest import KEY, PLANTED, RAW_IDS, csv_bytes, wave_table


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_raw_zone_and_its_files_are_readable_by_their_owner_only(
    study_copy: Callable[[], Path],
) -> None:
    study = load_study(study_copy())
    (study.inbox / "endline.csv").write_bytes(csv_bytes(wave_table("endline", trust_shift=1)))
    ingest_wave(study, study.inbox / "endline.csv")
    folders = [study.archive, *(p for p in study.archive.rglob("*") if p.is_dir())]
    files = [p for p in study.archive.rglob("*") if p.is_file()]
    assert len(files) == 2
    assert {mode(folder) for folder in folders} == {0o700}
    assert {mode(file) for file in files} == {0o600}


def test_the_warehouse_records_the_keys_fingerprint_and_no_identifying_value(
    study_copy: Callable[[], Path],
) -> None:
    study = load_study(study_copy())
    with connect(warehouse_path(study), read_only=True) as connection:
        assert recorded_fingerprint(connection, study.id) == key_fingerprint(KEY.encode())
    stored = warehouse_path(study).read_bytes()
    for value in (*PLANTED, *RAW_IDS, KEY):
        assert value.encode("utf-8") not in stored, value


def test_a_long_file_name_is_archived_under_a_name_every_file_system_takes(
    study_copy: Callable[[], Path],
) -> None:
    study = load_study(study_copy())
    name = "endline_" + "x" * 238 + ".csv"
    assert len(name) == 250
    (study.inbox / name).write_bytes(csv_bytes(wave_table("endline", trust_shift=1)))
    outcome = ingest_wave(study, study.inbox / name)
    assert outcome.status == "stored"
    (archived,) = (study.archive / "endline").iterdir()
    assert len(archived.name.encode()) <= 200 and archived.name.endswith("~.csv")


def test_old_mac_line_endings_are_read_like_any_other(study_copy: Callable[[], Path]) -> None:
    study = load_study(study_copy())
    unix = csv_bytes(wave_table("endline", trust_shift=1))
    (study.inbox / "endline.csv").write_bytes(unix.replace(b"\n", b"\r"))
    outcome = ingest_wave(study, study.inbox / "endline.csv")
    assert (outcome.status, outcome.rows_stored) == ("stored", 20)
