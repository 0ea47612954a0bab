"""One label per outcome, read from the run's outcome catalogue (the instrument's short label)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping

import pandas as pd

from flows.study import Study


def outcome_labels(catalogue: pd.DataFrame) -> dict[str, str]:
    """Each outcome's label as the report names it everywhere."""
    if catalogue.empty:
        return {}
    return {
        str(row.outcome): str(row.label)
        if isinstance(row.label, str) and row.label
        else str(row.outcome).replace("_", " ")
        for row in catalogue.itertuples(index=False)
    }


def outcome_questions(catalogue: pd.DataFrame) -> list[dict[str, str]]:
    """Label, kind and question text of each outcome, for the methods appendix."""
    if catalogue.empty or "question" not in catalogue.columns:
        return []
    labels = outcome_labels(catalogue)
    return [
        {
            "label": labels[str(row.outcome)],
            "question": str(row.question) if isinstance(row.question, str) else "",
            "unit": str(row.unit) if isinstance(row.unit, str) else "",
        }
        for row in catalogue.itertuples(index=False)
        if isinstance(row.question, str) and row.question
    ]


CHANGE_TESTS = {
    "paired_t": "paired t test",
    "wilcoxon": "Wilcoxon signed-rank test",
    "welch_t": "Welch t test",
    "paired_cr2": "paired, cluster-robust",
    "two_wave_cr2": "two samples, cluster-robust",
}
"""The within-arm change tests of :mod:`measurement.change` in words."""


def instrument_labels(study: Study, catalogue: pd.DataFrame) -> dict[str, str]:
    """The readers' name of every outcome, construct and item the report may mention: the
    outcome catalogue's labels over the instrument's short labels and construct labels."""
    instrument = study.resolved_instrument()
    names: dict[str, str] = {construct.name: construct.label for construct in instrument.constructs}
    names.update({item.name: item.short_label for item in instrument.items})
    names.update(outcome_labels(catalogue))
    return names


def in_words(text: object, names: Mapping[str, str]) -> str:
    """``text`` with every whole-word variable name replaced by its label."""
    if not isinstance(text, str) or not text:
        return "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    if not names:
        return text
    pattern = _pattern(tuple(sorted(names, key=len, reverse=True)))
    return pattern.sub(lambda match: names[match.group(0)], text)


@functools.lru_cache(maxsize=8)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.])(" + "|".join(re.escape(name) for name in names) + r")(?![\w])")


def wave_words(name: object) -> str:
    """A wave's name as text (``follow_up`` reads "follow up")."""
    return str(name).replace("_", " ")
