"""Study files and exports written as a user of the README would, for data we did not make.

A short questionnaire of our own (no base instrument): five-point ratings, a 0-10 score
with decimals, an age, a categorical item; individually randomised or pre/post.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SHORT_INSTRUMENT = """
[[instrument.constructs]]
name = "service"
label = "Rating of the service"
domain = "satisfaction"

[[instrument.constructs]]
name = "background"
label = "Background"
domain = "background"

[[instrument.items]]
name = "rating_staff"
construct = "service"
scale = "likert"
question = "How do you rate the staff?"
minimum = 1
maximum = 5

[[instrument.items]]
name = "rating_wait"
construct = "service"
scale = "likert"
question = "How do you rate the waiting time?"
minimum = 1
maximum = 5

[[instrument.items]]
name = "wellbeing"
construct = "service"
scale = "continuous"
question = "Mean of the wellbeing items (1-5)"
minimum = 1
maximum = 5

[[instrument.items]]
name = "age"
construct = "background"
scale = "count"
question = "How old are you?"

[[instrument.items]]
name = "household"
construct = "background"
scale = "categorical"
question = "Who decides on household spending?"
labels = { "1" = "I alone", "2" = "With my spouse", "3" = "Someone else" }
"""


INDIVIDUAL_COLUMNS = """
respondent = "id"
arm = { column = "group", treatment = ["T"], comparison = ["C"] }
"""


def write_study(
    folder: Path,
    *,
    design: str = "individually_randomised",
    sampling: str = "panel",
    columns: str = INDIVIDUAL_COLUMNS,
    extra: str = "",
    instrument: str = SHORT_INSTRUMENT,
) -> Path:
    """A study file of our own: no base instrument, only the items above."""
    folder.mkdir(parents=True, exist_ok=True)
    text = f"""
id = "short"
title = "A short questionnaire"

[design]
assignment = "{design}"
sampling = "{sampling}"

[columns]
{columns}

[[waves]]
name = "baseline"

[[waves]]
name = "endline"

[instrument]
{instrument}
{extra}
"""
    path = folder / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def short_wave(
    *, n_rows: int, wave: str, seed: int, effect: float = 0.0, ids: int | None = None
) -> pd.DataFrame:
    """A raw export: id, group, the ratings, a 1-5 mean score with decimals, age, household."""
    rng = np.random.default_rng(seed)
    ident = np.arange(1, (ids or n_rows) + 1)[:n_rows]
    treated = ident % 2 == 0
    wellbeing = np.clip(np.round(rng.normal(3 + effect * treated, 0.6), 2), 1, 5)
    return pd.DataFrame(
        {
            "id": ident,
            "group": np.where(treated, "T", "C"),
            "rating_staff": rng.integers(1, 6, n_rows),
            "rating_wait": rng.integers(1, 6, n_rows),
            "wellbeing": wellbeing,
            "age": rng.integers(16, 70, n_rows),
            "household": rng.integers(1, 4, n_rows),
        }
    ).assign(wave=wave)
