"""Ingest in chunks: a wave read a few rows at a time is stored exactly as if read whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from flows import ingest
from flows.errors import IngestError
from flows.ingest import ingest_wave
from flows.reading import CodedWave, RawWave, code_wave
from flows.reading.chunks import read_raw_chunks
from flows.simulation import SimulationSettings, simulate_study
from flows.simulation.writers import write_wave
from flows.study import load_study
from flows.warehouse import WAREHOUSE_ENVIRONMENT_VARIABLE

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "studies" / "example"
# Rows per chunk small enough that every wave of the example is read in several chunks and
# one chunk holds nothing but blank rows.
TINY_CHUNK = 150
# Blank rows after file row 99: they fill the second chunk entirely.
BLANK_RUN = 2 * TINY_CHUNK + 5
STORED_TABLES = ("interviews", "answers", "waves", "items", "missing_reasons")


def example_with_blank_rows(tmp_path: Path) -> Path:
    """The example study; its baseline gets a run of blank rows (one whole chunk of them) and
    the endline a blank row at the end of a chunk."""
    root = tmp_path / "study"
    (root / "inbox").mkdir(parents=True)
    shutil.copy(EXAMPLE / "study.toml", root / "study.toml")
    for source in sorted((EXAMPLE / "inbox").iterdir()):
        lines = source.read_text(encoding="utf-8").splitlines()
        blank = "," * (lines[0].count(","))
        if source.stem == "baseline":
            lines[100:100] = [blank] * BLANK_RUN
        elif source.stem == "endline":
            lines.insert(TINY_CHUNK, blank)
        (root / "inbox" / source.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "study.toml"


def differing_rows(first: Path, second: Path, table: str) -> tuple[int, int, int]:
    """Rows of ``table`` in the first warehouse, and rows only in one or the other."""
    connection = duckdb.connect()
    connection.execute(f"ATTACH '{first}' AS a (READ_ONLY)")
    connection.execute(f"ATTACH '{second}' AS b (READ_ONLY)")
    columns = "* EXCLUDE (ingested_at)" if table == "waves" else "*"
    counts = []
    for query in (
        f"SELECT count(*) FROM a.{table}",
        f"SELECT count(*) FROM (SELECT {columns} FROM a.{table} EXCEPT ALL "
        f"SELECT {columns} FROM b.{table})",
        f"SELECT count(*) FROM (SELECT {columns} FROM b.{table} EXCEPT ALL "
        f"SELECT {columns} FROM a.{table})",
    ):
        found = connection.execute(query).fetchone()
        counts.append(int(found[0]) if found else -1)
    connection.close()
    return counts[0], counts[1], counts[2]


def test_a_wave_ingested_in_tiny_chunks_is_stored_as_when_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study_file = example_with_blank_rows(tmp_path)
    warehouses = {}
    coded_rows: dict[str, list[int]] = {"whole": [], "chunked": []}
    for name, chunk_rows in (("whole", 1_000_000), ("chunked", TINY_CHUNK)):
        warehouses[name] = tmp_path / f"{name}.duckdb"
        monkeypatch.setenv(WAREHOUSE_ENVIRONMENT_VARIABLE, str(warehouses[name]))

        def counting(raw: RawWave, **options: object) -> CodedWave:
            coded_rows[name].append(len(raw.frame))  # noqa: B023 (called within the loop)
            return code_wave(raw, **options)  # type: ignore[arg-type]

        monkeypatch.setattr(ingest, "code_wave", counting)
        study = load_study(study_file)
        for wave in ("baseline", "endline"):
            ingest_wave(study, study.inbox / f"{wave}.csv", chunk_rows=chunk_rows)
    # Never more than a chunk's rows in memory at once: the whole read codes each file once.
    assert len(coded_rows["whole"]) == 2
    assert max(coded_rows["chunked"]) == TINY_CHUNK
    # ... and a chunk of blank rows is not coded at all.
    assert sum(coded_rows["chunked"]) == sum(coded_rows["whole"]) - TINY_CHUNK
    chunks = list(read_raw_chunks(study.inbox / "baseline.csv", study=study, chunk_rows=TINY_CHUNK))
    assert len(chunks) >= 4
    assert [chunk.first_row for chunk in chunks[:3]] == [1, 1 + TINY_CHUNK, 1 + 2 * TINY_CHUNK]
    for table in STORED_TABLES:
        n_rows, only_whole, only_chunked = differing_rows(
            warehouses["whole"], warehouses["chunked"], table
        )
        assert n_rows > 0, table
        assert (only_whole, only_chunked) == (0, 0), table
    connection = duckdb.connect(str(warehouses["chunked"]), read_only=True)
    # Row numbers are file rows: the blank run after row 99 is skipped, not renumbered.
    numbers = connection.execute(
        "SELECT row_number FROM interviews WHERE wave = 'baseline' ORDER BY row_number"
    ).fetchall()
    connection.close()
    assert [row[0] for row in numbers[98:100]] == [99, 100 + BLANK_RUN]


def test_a_coding_error_in_a_later_chunk_names_its_file_row(tmp_path: Path) -> None:
    study_file = example_with_blank_rows(tmp_path)
    study = load_study(study_file)
    path = study.inbox / "follow_up.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    arm = header.index("arm")
    row = lines[200].split(",")
    row[arm] = "placebo"
    lines[200] = ",".join(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"first at row 200\).*Read in chunks: the count"):
        ingest_wave(study, path, chunk_rows=TINY_CHUNK)
    with pytest.raises(IngestError, match=r"in 1 row\(s\) \(first at row 200\)") as whole:
        ingest_wave(study, path)
    assert "Read in chunks" not in str(whole.value)


def test_read_raw_chunks_rejects_a_chunk_size_below_one(tmp_path: Path) -> None:
    study = load_study(example_with_blank_rows(tmp_path))
    with pytest.raises(ValueError, match="chunk_rows must be at least 1; found 0"):
        next(read_raw_chunks(study.inbox / "baseline.csv", study=study, chunk_rows=0))


@pytest.mark.parametrize("file_format", ["sav", "dta"])
def test_an_spss_or_stata_wave_read_in_chunks_is_stored_as_when_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_format: str
) -> None:
    study = load_study(example_with_blank_rows(tmp_path))
    settings = SimulationSettings(seed=7, n_clusters=8, respondents_per_cluster=40)
    frame = simulate_study(study, settings).waves["baseline"].frame
    path = write_wave(frame, tmp_path / f"baseline.{file_format}", file_format, study)
    chunks = list(read_raw_chunks(path, study=study, chunk_rows=TINY_CHUNK))
    assert [chunk.first_row for chunk in chunks] == [1, 151, 301]
    assert chunks[0].raw.value_labels == chunks[-1].raw.value_labels != {}
    warehouses = {}
    for name, chunk_rows in (("whole", 1_000_000), ("chunked", TINY_CHUNK)):
        warehouses[name] = tmp_path / f"{name}.duckdb"
        monkeypatch.setenv(WAREHOUSE_ENVIRONMENT_VARIABLE, str(warehouses[name]))
        outcome = ingest_wave(load_study(study.path), path, chunk_rows=chunk_rows)
        assert outcome.rows_stored == len(frame)
    for table in ("interviews", "answers"):
        _, only_whole, only_chunked = differing_rows(
            warehouses["whole"], warehouses["chunked"], table
        )
        assert (only_whole, only_chunked) == (0, 0), table


def test_each_chunk_knows_how_many_rows_its_file_holds(tmp_path: Path) -> None:
    study = load_study(example_with_blank_rows(tmp_path))
    baseline = study.inbox / "baseline.csv"
    data_lines = len(baseline.read_text(encoding="utf-8").splitlines()) - 1
    chunks = list(read_raw_chunks(baseline, study=study, chunk_rows=TINY_CHUNK))
    assert {chunk.file_rows for chunk in chunks} == {data_lines}
    assert sum(len(chunk.raw.frame) for chunk in chunks) == data_lines
    # Without a line break after the last row, the last row still counts.
    cut = tmp_path / "endline.csv"
    cut.write_text((study.inbox / "endline.csv").read_text(encoding="utf-8").rstrip("\n"))
    chunks = list(read_raw_chunks(cut, study=study, chunk_rows=TINY_CHUNK))
    assert chunks[0].file_rows == sum(len(chunk.raw.frame) for chunk in chunks)


@pytest.mark.parametrize("file_format", ["sav", "dta"])
def test_chunks_of_an_spss_or_stata_file_know_its_row_count(
    tmp_path: Path, file_format: str
) -> None:
    study = load_study(example_with_blank_rows(tmp_path))
    settings = SimulationSettings(seed=7, n_clusters=8, respondents_per_cluster=20)
    frame = simulate_study(study, settings).waves["baseline"].frame
    path = write_wave(frame, tmp_path / f"baseline.{file_format}", file_format, study)
    chunks = list(read_raw_chunks(path, study=study, chunk_rows=TINY_CHUNK))
    assert len(chunks) == 2
    assert {chunk.file_rows for chunk in chunks} == {len(frame)}
