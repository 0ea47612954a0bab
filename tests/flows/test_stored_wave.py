"""A stored wave read block by block is the frame the notebook API pivots."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows import api
from flows.ingest import ingest_wave
from flows.stored_wave import read_stored_wave, read_stored_waves
from flows.study import load_study
from flows.warehouse import INTERVIEW_COLUMNS, connect, warehouse_path

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


def test_rows_left_out_by_keep_and_roles_not_chosen_are_never_read(tmp_path: Path) -> None:
    root = tmp_path / "study"
    shutil.copytree(EXAMPLE, root)
    study = load_study(root / "study.toml")
    for wave in ("baseline", "endline"):
        ingest_wave(study, study.inbox / f"{wave}.csv")
    whole = api.responses(study)
    seen: list[list[str]] = []

    def every_third(roles: pd.DataFrame) -> np.ndarray:
        seen.append(list(roles.columns))
        return (roles["row_number"] % 3 == 0).to_numpy()

    with connect(warehouse_path(study), read_only=True) as connection:
        some = read_stored_waves(
            connection,
            study,
            ["baseline", "endline"],
            keep=every_third,
            role_columns=["respondent", "treated"],
            block_rows=50,
        )
        none = read_stored_waves(
            connection, study, ["baseline", "endline"], keep=lambda roles: roles["wave"] == ""
        )
    expected = whole[whole["row_number"] % 3 == 0].reset_index(drop=True)
    items = list(whole.columns[len(INTERVIEW_COLUMNS) + 1 :])
    pd.testing.assert_frame_equal(
        some, expected[["wave", "row_number", "respondent", "treated", *items]]
    )
    # keep is asked once per wave, with the chosen roles and consent only.
    assert seen == [["wave", "row_number", "respondent", "treated", "consent"]] * 2
    # Each item is its own array: dropping one frees it.
    assert not np.shares_memory(some[items[0]].to_numpy(), some[items[1]].to_numpy())
    assert none.empty and list(none.columns[-len(items) :]) == items
