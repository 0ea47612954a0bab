"""The effects tables' warnings become numbered notes under each table."""

from __future__ import annotations

import pandas as pd

from flows.report import _numbered_warnings


def test_effect_warnings_become_numbered_notes_written_once() -> None:
    rows = pd.DataFrame({"warnings": ["few clusters; high attrition", "high attrition", None]})
    marked, notes = _numbered_warnings(rows)
    assert notes == ["few clusters", "high attrition"]
    assert marked["notes_marker"].tolist() == ["1, 2", "2", ""]
