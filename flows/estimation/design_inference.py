"""Which errors a study's design calls for: the column inference clusters on, and its words.

The one place that turns ``design.assignment`` into inference options for every table.
Cluster-randomised studies (and others naming a cluster column) cluster on ``cluster``. An
individually randomised study clusters on nothing: its estimators get ``unit``, one value
per respondent in a panel (their waves stay together) or per interview in a repeated cross-
section, so CR1 on it is HC1 (the CR1 factor G/(G-1) x (N-1)/(N-K) is N/(N-K) when G = N),
and no wild cluster bootstrap is run.
"""

from __future__ import annotations

import pandas as pd

from flows.study import Study

UNIT = "unit"


def inference_cluster(study: Study) -> str:
    """The column the estimators' errors cluster on: ``cluster`` or one unit per respondent."""
    return "cluster" if study.clustered else UNIT


def cluster_bootstrap(study: Study) -> bool:
    """Whether the wild cluster bootstrap applies (never to an individually randomised study)."""
    return study.clustered


def inference_unit(frame: pd.DataFrame, study: Study) -> pd.Series:
    """The ``unit`` column: the respondent in a panel, the interview in a cross-section."""
    if study.design.sampling == "panel" and frame["respondent"].notna().all():
        return frame["respondent"].astype("string")
    return frame["wave"].astype("string") + ":" + frame["row_number"].astype("string")


def cluster_words(study: Study) -> str:
    """How a table names what its errors cluster on."""
    if not study.clustered:
        return "heteroskedasticity-robust (HC1) errors"
    return "CR1 errors clustered on the cluster"
