"""Injection: SQL is never built from values. Every f-string that holds SQL interpolates only
identifiers the code chooses (table and column names); values go in as ``?`` parameters."""

from __future__ import annotations

import ast
import re
from pathlib import Path

FLOWS = Path(__file__).resolve().parents[2] / "flows"
SQL = re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE|CREATE|ALTER|DROP)\b")
# The only names an SQL f-string may interpolate: identifiers fixed by the code (table and
# column names, a column's type from the schema) and ``in_waves``, a list of ``?`` markers.
IDENTIFIERS = {"table", "name", "columns", "column", "kind", "value_column", "in_waves", "staged"}


def sql_interpolations() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(FLOWS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr):
                continue
            text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
            if not SQL.search(text):
                continue
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    found.append((path.name, node.lineno, ast.unparse(part.value)))
    return found


def test_sql_f_strings_interpolate_only_identifiers_chosen_by_the_code() -> None:
    found = sql_interpolations()
    assert found, "the scan found no SQL f-string at all: it is looking in the wrong place"
    built_from_other = [item for item in found if item[2] not in IDENTIFIERS]
    assert built_from_other == []
