"""Bad input: every hostile file, study file or command line gets one clear message and an
exit code of 1 (data) or 2 (usage), and leaves the warehouse and the raw archive untouched."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.reliability.conftest import PLANTED, RAW_IDS, snapshot
from tests.reliability.hostile_inputs import CASES

runner = CliRunner()
PROTECTED = ("warehouse", "raw")


def one_line(output: str) -> str:
    """The output as one line: box drawing and wrapping removed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def test_the_corpus_holds_at_least_sixty_hostile_inputs() -> None:
    assert len(CASES) >= 60
    assert {case.exit_code for case in CASES.values()} == {1, 2}


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_input_is_refused_clearly_and_changes_nothing(
    name: str, study_copy: Callable[[], Path]
) -> None:
    case = CASES[name]
    study_file = study_copy()
    before = snapshot(study_file.parent, *PROTECTED)
    arguments = case.make(study_file)
    result = runner.invoke(app, arguments)
    shown = one_line(result.output)
    assert result.exit_code == case.exit_code, result.output
    assert re.search(case.message, shown), result.output
    assert "unexpected error" not in result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) <= 1, result.output
    for value in (*PLANTED, *RAW_IDS):
        assert value not in result.output
    assert snapshot(study_file.parent, *PROTECTED) == before
