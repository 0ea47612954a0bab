"""insert_frame: the one way a DataFrame's rows reach a warehouse table."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from flows.warehouse import insert_frame

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def test_insert_frame_matches_columns_by_name_and_quotes_them() -> None:
    connection = duckdb.connect()
    connection.execute('CREATE TABLE checks ("order" INTEGER, "Reason" VARCHAR, n INTEGER)')
    frame = pd.DataFrame({"n": [3, 4], "Reason": ["speeder", "duplicate"], "order": [1, 2]})

    assert insert_frame(connection, "checks", frame) == 2

    rows = connection.execute('SELECT "order", "Reason", n FROM checks ORDER BY 1').fetchall()
    assert rows == [(1, "speeder", 3), (2, "duplicate", 4)]


def test_insert_frame_writes_nothing_for_an_empty_frame() -> None:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE checks (n INTEGER)")
    assert insert_frame(connection, "checks", pd.DataFrame({"n": pd.Series([], dtype=int)})) == 0
    assert connection.execute("SELECT count(*) FROM checks").fetchone() == (0,)


def test_no_module_of_the_shell_stages_frames_into_duckdb_by_itself() -> None:
    staging = [
        str(path.relative_to(FLOWS))
        for path in sorted(FLOWS.rglob("*.py"))
        if re.search(r"\.register\(", path.read_text(encoding="utf-8"))
    ]
    assert staging == ["warehouse.py"]
