"""Which errors a study's design calls for: the column inference clusters on, and its words.

The one place that turns ``design.assignment`` into inference options for every table.
Cluster-randomised studies (and others naming a cluster column) cluster on ``cluster``. An
individually randomised study clusters on nothing: the effects get ``cluster=None``
(HC2 with t(N-K), as R ``estimatr::lm_robust``, and no wild cluster bootstrap); the tables
whose estimators still need a cluster column (attrition, balance, ordered logit, effects by
group, propensity balance) get ``unit``, one value per respondent in a panel (their waves
stay together) or per interview in a repeated cross-section, so CR1 on it is HC1 (the CR1
factor G/(G-1) x (N-1)/(N-K) is N/(N-K) when G = N).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import pandas as pd
from threadpoolctl import threadpool_limits

from flows.study import Study

Parameters = ParamSpec("Parameters")
Result = TypeVar("Result")

UNIT = "unit"


def inference_cluster(study: Study) -> str:
    """The column the estimators' errors cluster on: ``cluster`` or one unit per respondent."""
    return "cluster" if study.clustered else UNIT


def effects_cluster(study: Study, estimator: str = "ancova") -> str | None:
    """The cluster of the effect estimates: ``cluster``, or None (HC2) when not clustered.

    A difference-in-differences on an unclustered panel has two rows per respondent: its
    errors cluster on the respondent (``unit``), since heteroskedasticity-robust errors
    would treat a person's two waves as independent.
    """
    if study.clustered:
        return "cluster"
    if estimator == "did" and study.design.sampling == "panel":
        return UNIT
    return None


def cluster_bootstrap(study: Study, n_clusters: int) -> bool:
    """Whether the wild cluster bootstrap is computed for a design with ``n_clusters`` clusters.

    Never for an individually randomised study. With ``[inference] few_clusters_below``
    clusters or more the primary inference is the analytic ``many_clusters_method`` (CR1 or
    CR2), so the bootstrap (its p-value, interval and the Romano-Wolf and Westfall-Young
    step-downs built on its draws) is skipped by rule: :func:`bootstrap_skipped` says so in
    the run's caveats, and BH and sharpened q-values remain the multiple-testing adjustment.
    """
    return study.clustered and n_clusters < study.inference.few_clusters_below


def bootstrap_skipped(study: Study, n_clusters: int) -> str:
    """The caveat recorded when :func:`cluster_bootstrap` skips the bootstrap."""
    return (
        f"wild cluster bootstrap not computed: {n_clusters} clusters, at least "
        f"few_clusters_below={study.inference.few_clusters_below}, so the primary inference "
        f"is {study.inference.many_clusters_method.upper()} (analytic); no bootstrap p-value, "
        "interval or Romano-Wolf / Westfall-Young step-down. Raise [inference] "
        "few_clusters_below in the study file to compute them."
    )


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


def with_one_blas_thread(function: Callable[Parameters, Result]) -> Callable[Parameters, Result]:
    """Run ``function`` with one BLAS (OpenBLAS) thread, restoring the thread count after.

    The effect, change and balance tables do many small matrix products and decompositions
    (CR2's adjustment matrix per cluster, blocks of bootstrap and randomization draws), where
    OpenBLAS's threads cost more in hand-offs and spinning than they save: at 100,000
    respondents per wave (999 draws, two shared cores) the estimate stage took 62.5 and
    61.1 s of processor time with one thread for these tables against 69.6 and 70.0 s
    without the limit (wall 64.7 and 62.2 s against 70.7 and 70.7 s), every result table
    bit-identical. The Lee bounds are not run under it: with one thread their bounds move in
    the last bits (1.4e-13 relative).
    """

    @functools.wraps(function)
    def limited(*args: Parameters.args, **kwargs: Parameters.kwargs) -> Result:
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return limited
