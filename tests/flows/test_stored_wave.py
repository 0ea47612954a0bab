"""A stored wave read block by block is the frame the notebook API pivots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows import api
from flows.ingest import ingest_wave
from flows.stored_wave import read_stored_wave
from flows.study import load_study
from flows.warehouse import connect, warehouse_path

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "studies" / "example"


@pytest.mark.parametrize("coded", [True, False])
def test_read_stored_wave_in_small_blocks_gives_the_api_frame(tmp_path: Path, coded: bool) -> None:
    root = tmp_path / "study"
    shutil.copytree(EXAMPLE, root)
    study = load_study(root / "study.toml")
    for wave in ("baseline", "endline"):
        ingest_wave(study, study.inbox / f"{wave}.csv")
    expected = api.responses(study, coded=coded, waves=["endline"])
    with connect(warehouse_path(study), read_only=True) as connection:
        found = read_stored_wave(connection, study, "endline", coded=coded, block_rows=97)
        some = read_stored_wave(
            connection, study, "endline", coded=coded, items=["consent", *expected.columns[-3:]]
        )
        absent = read_stored_wave(connection, study, "follow_up", coded=coded)
    pd.testing.assert_frame_equal(found, expected)
    assert list(some.columns[-3:]) == list(expected.columns[-3:])
    pd.testing.assert_frame_equal(some, expected[list(some.columns)])
    assert absent.empty
    if coded:
        assert (found.iloc[:, 13:] < 0).any().any()
    else:
        assert not (found.iloc[:, 13:] < 0).any().any()
