"""What ingest stores, pinned: the example's warehouse tables hash to the digests the earlier
write path gave them.

The digests were computed with the write path of commit c0140f9 (before the answers were
staged with 32-bit row numbers and without column statistics), from the example study under
a fixed pseudonym key; it gave the same digests at both chunk sizes. Any change to how a wave
is read, coded, pseudonymised, staged or loaded that changes one stored value, one row or a
row's count changes a digest. Rows are hashed in a fixed order, so the order DuckDB keeps
them in does not matter; values are hashed as Python gives them back (``repr``: a float's
exact digits, None for NULL). The waves table is hashed without its ingestion time and
archive path.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest

from flows.ingest import ingest_wave
from flows.privacy import key_variable_name
from flows.study import load_study
from flows.warehouse import WAREHOUSE_ENVIRONMENT_VARIABLE

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "studies" / "example"
FIXED_KEY = "stored-contents-test-key-0123456789abcdef0123456789abcdef"
# Rows per chunk: several chunks per wave of the example, and the default (one chunk).
SMALL_CHUNK = 200

# table: (columns hashed, ordering of the rows)
HASHED = {
    "answers": (
        "study_id, wave, version, row_number, item, value, answered_code, missing_reason",
        "wave, version, row_number, item",
    ),
    "interviews": ("*", "wave, version, row_number"),
    "waves": (
        "study_id, wave, version, wave_order, file_name, sha256, format, rows_read, "
        "rows_stored, status, message",
        "wave, version",
    ),
    "items": ("*", "item, stored_name"),
    "missing_reasons": ("*", "reason, code"),
}

EXPECTED_DIGESTS: dict[str, tuple[int, str]] = {
    "answers": (117864, "dc04dca626cb159a5e98ce456015f869178202a53476dca9131fe99a0c859795"),
    "interviews": (1637, "3848320fda6754a60a5e9a55ed3f375aeb4b232c1d2ae8097e532e8d445c5570"),
    "waves": (3, "313e8029160c685fd035a9cd507736f8a148c953245854207c629e260f0da7fd"),
    "items": (72, "c1106a749fe6e175473537a4fe7a47f867b0356f78d2bbfdffc7b323a6742865"),
    "missing_reasons": (6, "433b75cdaa70efc00123bf53a4b97dc634ceffdfbc6b5a8e9ce78ecb1a33c4d3"),
}


def table_digests(warehouse: Path) -> dict[str, tuple[int, str]]:
    """Rows and SHA-256 of each hashed table, its rows in a fixed order."""
    digests = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for table, (columns, order) in HASHED.items():
            rows = connection.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(row).encode("utf-8"))
                digest.update(b"\n")
            digests[table] = (len(rows), digest.hexdigest())
    return digests


def ingest_example(root: Path, chunk_rows: int | None) -> Path:
    """The example study copied to ``root``, every wave ingested; its warehouse file."""
    (root / "inbox").mkdir(parents=True)
    shutil.copy(EXAMPLE / "study.toml", root / "study.toml")
    for source in sorted((EXAMPLE / "inbox").iterdir()):
        shutil.copy(source, root / "inbox" / source.name)
    study = load_study(root / "study.toml")
    for wave in study.wave_names:
        path = root / "inbox" / f"{wave}.csv"
        if chunk_rows is None:
            ingest_wave(study, path)
        else:
            ingest_wave(study, path, chunk_rows=chunk_rows)
    return root / "warehouse.duckdb"


@pytest.mark.parametrize("chunk_rows", [None, SMALL_CHUNK])
def test_example_warehouse_tables_hash_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int | None
) -> None:
    monkeypatch.setenv(key_variable_name("example"), FIXED_KEY)
    monkeypatch.setenv(WAREHOUSE_ENVIRONMENT_VARIABLE, str(tmp_path / "study" / "warehouse.duckdb"))
    warehouse = ingest_example(tmp_path / "study", chunk_rows)
    assert table_digests(warehouse) == EXPECTED_DIGESTS
