"""Design diagnosis by simulation: declare a design, simulate many studies, run the estimator.

In the spirit of DeclareDesign (Blair, Cooper, Coppock & Humphreys 2019): a planned design
(:class:`measurement.power.PlannedDesign`) and a true effect are simulated many times as a
cluster-randomised panel; each simulated study is analysed with this project's own ANCOVA
(:func:`measurement.effects.estimate_ancova`, CR1 on t(G-1)) and, optionally, its wild cluster
restricted bootstrap (:func:`measurement.wild_bootstrap.wild_cluster_bootstrap`); power,
bias, RMSE, interval coverage and the size of the test are reported with Monte Carlo SEs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from measurement.effects import estimate_ancova
from measurement.errors import DesignError, FewClustersWarning
from measurement.power import PlannedDesign, design_power
from measurement.wild_bootstrap import wild_cluster_bootstrap

__all__ = [
    "DIAGNOSIS_COLUMNS",
    "Diagnosis",
    "diagnose_design",
    "diagnose_designs",
    "simulate_cluster_trial",
]

Inference = Literal["cr1", "wild_bootstrap"]

DIAGNOSIS_COLUMNS = [
    "outcome",
    "inference",
    "effect",
    "n_simulations",
    "power",
    "power_se",
    "size",
    "size_se",
    "bias",
    "bias_se",
    "rmse",
    "coverage",
    "coverage_se",
    "analytic_power",
]
"""Columns of :func:`diagnose_designs`: Monte Carlo power (share of p < alpha under the
effect), size (share under no effect), bias and RMSE of the estimate, coverage of the 95%
interval, each proportion with its binomial Monte Carlo SE, and the analytic power."""


def simulate_cluster_trial(
    planned: PlannedDesign, *, effect: float, generator: np.random.Generator
) -> pd.DataFrame:
    """One simulated cluster-randomised panel: one row per respondent followed up.

    Clusters are split evenly into the design's strata and half of each stratum (rounded)
    gets the campaign. Cluster sizes are ``cluster_size`` (gamma-distributed with the
    design's coefficient of variation when it is not 0). The baseline outcome is ``u + e``
    with cluster effects ``u ~ N(0, rho)`` and ``e ~ N(0, 1 - rho)``; the follow-up outcome is
    ``r (u + e) + sqrt(1 - r^2) (u' + e') + effect x treated`` with ``r^2`` the design's
    R-squared, so both levels share it and the outcome has unit variance. Attrition drops a
    random share of respondents.
    """
    if planned.n_clusters is None:
        raise ValueError("simulate_cluster_trial: the design has no clusters; pass n_clusters.")
    clusters = int(planned.n_clusters)
    if planned.cluster_size_cv > 0:
        shape = 1 / planned.cluster_size_cv**2
        sizes = generator.gamma(shape, planned.cluster_size / shape, size=clusters)
        sizes = np.maximum(2, np.rint(sizes)).astype(int)
    else:
        sizes = np.full(clusters, round(planned.cluster_size))
    strata = np.arange(clusters) % planned.n_strata
    treated_cluster = np.zeros(clusters, dtype=float)
    for stratum in range(planned.n_strata):
        members = np.flatnonzero(strata == stratum)
        count = round(planned.treated_share * len(members))
        treated_cluster[generator.permutation(members)[:count]] = 1.0
    cluster = np.repeat(np.arange(clusters), sizes.astype(np.int64))
    rho = planned.icc
    correlation = math.sqrt(planned.r_squared) if planned.analysis == "ancova" else 0.0
    before = generator.normal(scale=math.sqrt(rho), size=clusters)[cluster] + generator.normal(
        scale=math.sqrt(1 - rho), size=cluster.size
    )
    fresh = generator.normal(scale=math.sqrt(rho), size=clusters)[cluster] + generator.normal(
        scale=math.sqrt(1 - rho), size=cluster.size
    )
    treated = treated_cluster[cluster]
    after = correlation * before + math.sqrt(1 - correlation**2) * fresh + effect * treated
    frame = pd.DataFrame(
        {
            "cluster": cluster,
            "stratum": strata[cluster],
            "treated": treated,
            "baseline": before,
            "outcome": after,
        }
    )
    if planned.attrition > 0:
        frame = frame[generator.random(len(frame)) >= planned.attrition]
    return frame.reset_index(drop=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    """Monte Carlo properties of one design, effect and inference."""

    outcome: str
    inference: str
    effect: float
    n_simulations: int
    power: float
    power_se: float
    size: float
    size_se: float
    bias: float
    bias_se: float
    rmse: float
    coverage: float
    coverage_se: float
    analytic_power: float

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)], columns=DIAGNOSIS_COLUMNS)


def _analyse(
    frame: pd.DataFrame, planned: PlannedDesign, inference: Inference, draws: int, seed: int
) -> tuple[float, float, float, float]:
    """estimate, p-value, interval of one simulated study with the chosen inference."""
    stratum = "stratum" if planned.n_strata > 1 else None
    with warnings.catch_warnings():
        # Few clusters is what a diagnosis is often run to measure: the caveat is the result.
        warnings.simplefilter("ignore", FewClustersWarning)
        fitted = estimate_ancova(
            frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster",
            stratum=stratum,
        )  # fmt: skip
        if inference == "cr1":
            return fitted.estimate, fitted.p_value, fitted.conf_low, fitted.conf_high
        boot = wild_cluster_bootstrap(
            frame,
            outcome="outcome",
            regressors=["treated", "baseline"],
            term="treated",
            cluster="cluster",
            fixed_effects=[stratum] if stratum else (),
            draws=draws,
            seed=seed,
        )
    return fitted.estimate, boot.p_value, boot.conf_low, boot.conf_high


def _share(values: list[bool]) -> tuple[float, float]:
    share = float(np.mean(values)) if values else math.nan
    return share, math.sqrt(share * (1 - share) / len(values)) if values else math.nan


def diagnose_design(
    planned: PlannedDesign,
    *,
    effect: float,
    outcome: str = "outcome",
    simulations: int = 500,
    inference: Inference = "wild_bootstrap",
    draws: int = 399,
    seed: int = 20261130,
    progress: Callable[[int], None] | None = None,
) -> Diagnosis:
    """Simulate ``simulations`` studies under ``effect`` and as many under no effect.

    Parameters
    ----------
    planned : PlannedDesign
        A cluster design (``n_clusters``); ANCOVA on the simulated baseline is the analysis.
    effect : float
        True effect in SD units.
    simulations : int
        Studies simulated under the effect (and again under no effect, for the size).
    inference : {"wild_bootstrap", "cr1"}
        The p-value and interval read: the wild cluster restricted bootstrap with ``draws``
        draws, or CR1 on t(G-1).
    seed : int
        Seed of the whole diagnosis.
    progress : callable or None
        Called with 1 after each simulated study (for a progress bar).

    Returns
    -------
    Diagnosis
        Power, size, bias, RMSE and coverage with Monte Carlo SEs, and the analytic power of
        :func:`measurement.power.design_power` for comparison.

    Examples
    --------
    >>> planned = PlannedDesign(n_clusters=20, cluster_size=10, icc=0.05, analysis="ancova")
    >>> result = diagnose_design(planned, effect=0.4, simulations=20, inference="cr1", seed=1)
    >>> 0 <= result.power <= 1
    True
    """
    if simulations < 2:
        raise ValueError(
            f"diagnose_design: simulations must be at least 2; got {simulations!r}. Pass for "
            "example 500."
        )
    if inference not in ("cr1", "wild_bootstrap"):
        raise ValueError(
            f"diagnose_design: inference must be 'cr1' or 'wild_bootstrap'; got {inference!r}."
        )
    generator = np.random.default_rng(seed)
    rejected, null_rejected, covered, errors = [], [], [], []
    for _ in range(simulations):
        for truth in (effect, 0.0):
            frame = simulate_cluster_trial(planned, effect=truth, generator=generator)
            try:
                estimate, p_value, low, high = _analyse(
                    frame, planned, inference, draws, int(generator.integers(2**31))
                )
            except DesignError:
                continue
            if truth == effect:
                rejected.append(p_value < planned.alpha)
                covered.append(low <= truth <= high)
                errors.append(estimate - truth)
            else:
                null_rejected.append(p_value < planned.alpha)
        if progress is not None:
            progress(1)
    power, power_se = _share(rejected)
    size, size_se = _share(null_rejected)
    coverage, coverage_se = _share(covered)
    deviations = np.asarray(errors)
    return Diagnosis(
        outcome=outcome,
        inference=inference,
        effect=effect,
        n_simulations=len(rejected),
        power=power,
        power_se=power_se,
        size=size,
        size_se=size_se,
        bias=float(deviations.mean()),
        bias_se=float(deviations.std(ddof=1) / math.sqrt(len(deviations))),
        rmse=float(math.sqrt(np.mean(deviations**2))),
        coverage=coverage,
        coverage_se=coverage_se,
        analytic_power=design_power(planned, effect=effect).power,
    )


def diagnose_designs(
    designs: Mapping[str, PlannedDesign],
    effects: Mapping[str, float],
    *,
    simulations: int = 500,
    inference: Inference = "wild_bootstrap",
    draws: int = 399,
    seed: int = 20261130,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """:func:`diagnose_design` for each outcome's design and effect; one row per outcome."""
    missing = sorted(set(designs) - set(effects))
    if missing:
        raise ValueError(
            f"diagnose_designs: no effect given for {missing}. Pass an effect per outcome."
        )
    rows = [
        diagnose_design(
            planned,
            effect=effects[outcome],
            outcome=outcome,
            simulations=simulations,
            inference=inference,
            draws=draws,
            seed=seed + position,
            progress=progress,
        ).tidy()
        for position, (outcome, planned) in enumerate(designs.items())
    ]
    return pd.concat(rows, ignore_index=True)
