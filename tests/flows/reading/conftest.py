"""A small study on the bundled instrument and one small wave, writable in every format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flows.study import Study, load_study

STUDY = """
id = "reading"
title = "Reading test study"
pii = ["respondent_name", "phone"]

[design]
assignment = "cluster_randomised"
sampling = "panel"

[columns]
respondent = "respondent_id"
submission = "_uuid"
cluster = "community"
stratum = "region"
enumerator = "enumerator_id"
interview_start = "start"
interview_end = "end"
consent = "consent"
weight = "weight"
arm = {{ column = "arm", treatment = ["campaign"], comparison = ["comparison"] }}
{columns}

[[waves]]
name = "baseline"

[[waves]]
name = "endline"

[[waves]]
name = "follow_up"

[instrument]
base = "migration_campaign"
{instrument}

[quality]
out_of_range = "{out_of_range}"
{extra}
"""


@pytest.fixture
def make_study(tmp_path: Path) -> Callable[..., Study]:
    """Write the study file (with optional extra TOML) in tmp_path and load it."""

    def make(
        *,
        columns: str = "",
        instrument: str = "",
        extra: str = "",
        out_of_range: str = "refuse",
    ) -> Study:
        root = tmp_path / "study"
        root.mkdir(exist_ok=True)
        path = root / "study.toml"
        path.write_text(
            STUDY.format(
                columns=columns, instrument=instrument, extra=extra, out_of_range=out_of_range
            ),
            encoding="utf-8",
        )
        return load_study(path)

    return make


@pytest.fixture
def study(make_study: Callable[..., Study]) -> Study:
    return make_study()
