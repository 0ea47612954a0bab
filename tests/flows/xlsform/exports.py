"""Small KoboToolbox-style exports matching an XLSForm, written from the form's own sheets.

The answers are made up (seeded) for these tests: the forms are public, their data are not.
Each question is answered with one of its choice names, or left blank where the form's
``relevant`` would have skipped it (only the simple ``${q}='x'`` forms used by these forms).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

ANSWERED_TYPES = ("select_one ", "select_multiple ", "integer")


def _sheets(form: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    sheets = pd.read_excel(form, sheet_name=None, dtype=str, engine="calamine")
    survey = sheets["survey"].dropna(subset=["type"]).fillna("")
    survey["type"] = survey["type"].str.replace(r"\s+", " ", regex=True).str.strip()
    choices = sheets["choices"].rename(columns={"list name": "list_name"})
    choices = choices.dropna(subset=["list_name"]).fillna("")
    return survey, choices


def _relevant_holds(expression: str, answers: dict[str, str]) -> bool:
    text = re.sub('[’‘“”"]', "'", expression).strip()
    if not text:
        return True
    for disjunct in re.split(r"\s+or\s+", text):
        holds = True
        for term in re.split(r"\s+and\s+", disjunct.strip("() ")):
            match = re.match(r"\$\{(\w[\w-]*)\}\s*(!=|=)\s*'([^']*)'", term.strip("() "))
            if match is None:
                continue
            value = answers.get(match.group(1), "")
            equal = value == match.group(3)
            holds &= equal if match.group(2) == "=" else (not equal and value != "")
        if holds:
            return True
    return False


def kobo_export(form: Path, *, n_rows: int, seed: int, wave: str) -> pd.DataFrame:
    """One row per respondent: Kobo group paths, choice names, select-multiple columns."""
    survey, choices = _sheets(form)
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n_rows):
        answers: dict[str, str] = {}
        row: dict[str, object] = {
            "respondent_id": f"r{index:03d}",
            "community": f"c{index % 6}",
            "arm": "campaign" if index % 6 % 2 else "comparison",
            "_uuid": f"{wave}-{index:04d}",
            "start": f"2026-03-0{1 + index % 9}T09:00:00",
            "end": f"2026-03-0{1 + index % 9}T09:{20 + index % 30}:00",
        }
        groups: list[str] = []
        for record in survey.to_dict("records"):
            kind = str(record["type"]).strip()
            name = str(record["name"]).strip()
            if kind.replace("_", " ") in ("begin group",):
                groups.append(name)
                continue
            if kind.replace("_", " ") in ("end group",):
                groups.pop()
                continue
            if not kind.startswith(ANSWERED_TYPES) or " from_file" in kind:
                continue
            path = "/".join([*groups, name])
            relevant = str(record.get("relevant", ""))
            skipped = not _relevant_holds(relevant, answers)
            if kind == "integer":
                row[path] = "" if skipped else int(rng.integers(18, 80))
                continue
            list_name = kind.split()[1].strip()
            options = choices.loc[choices["list_name"] == list_name, "name"].tolist()
            if not options:
                continue
            if kind.startswith("select_one"):
                value = "" if skipped else str(rng.choice(options))
                answers[name] = value
                row[path] = value
            else:
                picked = [] if skipped else [o for o in options if rng.random() < 0.4]
                row[path] = " ".join(picked)
                for option in options:
                    row[f"{path}/{option}"] = "" if skipped else int(option in picked)
        rows.append(row)
    return pd.DataFrame(rows)
