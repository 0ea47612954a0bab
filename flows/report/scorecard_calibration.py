"""How often the scorecard's verdicts are wrong, over simulated studies with known truth.

Each simulated study is a cluster-randomised panel with a premise outcome and a headline
outcome, analysed with this project's ANCOVA (CR1, t(G-1)), read into the evidence columns
(MDE, TOST against the headline's SESOI) and scored by :func:`score_assumptions` with one
declared assumption (premise higher, headline lower). The earlier rule (a moved premise with a
non-significant headline is a contradiction) is scored beside it for comparison.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flows.assumptions import AssumptionDeclaration
from flows.report.scorecard import score_assumptions
from measurement.diagnosis import simulate_cluster_trial
from measurement.effects import estimate_ancova
from measurement.equivalence import read_evidence
from measurement.errors import FewClustersWarning
from measurement.power import PlannedDesign

ASSUMPTION = AssumptionDeclaration.model_validate(
    {
        "number": 1,
        "name": "Simulated assumption",
        "claim": "moving the premise moves the headline",
        "headline": {"outcome": "headline", "direction": "lower"},
        "premise": [{"outcome": "premise", "direction": "higher"}],
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """The truth of one scenario: effects (SD) and which verdicts are wrong under it."""

    name: str
    premise_effect: float
    headline_effect: float
    wrong: tuple[str, ...]


SCENARIOS = (
    Scenario(
        name="assumption true, small effect",
        premise_effect=0.3,
        headline_effect=-0.15,
        wrong=("contradicted",),
    ),
    Scenario(
        name="assumption false (premise moves, headline does not)",
        premise_effect=0.3,
        headline_effect=0.0,
        wrong=("supported",),
    ),
    Scenario(
        name="no effect at all",
        premise_effect=0.0,
        headline_effect=0.0,
        wrong=("supported", "contradicted"),
    ),
)

DESIGNS = {
    "under-powered (40 clusters x 15)": PlannedDesign(
        n_clusters=40, cluster_size=15, icc=0.05, analysis="ancova", r_squared=0.3
    ),
    "well-powered (200 clusters x 15)": PlannedDesign(
        n_clusters=200, cluster_size=15, icc=0.05, analysis="ancova", r_squared=0.3
    ),
}

SESOI = 0.1
"""The headline's declared smallest effect size of interest (SD)."""


def _row(frame: pd.DataFrame, outcome: str, sesoi: float | None) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        fit = estimate_ancova(
            frame, outcome="outcome", treated="treated", baseline="baseline", cluster="cluster"
        )
    reading = read_evidence(
        estimate=fit.estimate,
        p_value=fit.p_value,
        conf_low=fit.conf_low,
        conf_high=fit.conf_high,
        df=fit.n_clusters - 1,
        sesoi=sesoi,
    )
    return {
        "outcome": outcome,
        "estimate": fit.estimate,
        "p_value": fit.p_value,
        "conf_low": fit.conf_low,
        "conf_high": fit.conf_high,
        "n_clusters": fit.n_clusters,
        "conclusion": reading.conclusion,
        "mde": reading.minimum_detectable_effect,
        "mde_standardized": reading.minimum_detectable_effect,
        "sesoi": reading.sesoi,
    }


def earlier_rule(rows: pd.DataFrame) -> str:
    """The rule this scorecard replaced: a moved premise without a moved headline contradicts."""
    by_outcome = rows.set_index("outcome")
    readings = {}
    for outcome, sign in (("headline", -1), ("premise", 1)):
        estimate = float(by_outcome.loc[outcome, "estimate"])  # type: ignore[arg-type]
        p_value = float(by_outcome.loc[outcome, "p_value"])  # type: ignore[arg-type]
        readings[outcome] = (
            "no clear effect"
            if p_value >= 0.05
            else ("agrees" if (estimate > 0) == (sign > 0) else "disagrees")
        )
    if "disagrees" in readings.values():
        return "contradicted"
    if readings["headline"] == "agrees":
        return "supported"
    if readings["premise"] == "agrees":
        return "contradicted"
    return "inconclusive"


def calibrate(
    *,
    simulations: int,
    designs: dict[str, PlannedDesign] | None = None,
    seed: int = 20261201,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Share of each verdict, and of wrong ones, per design and scenario (both rules)."""
    rows = []
    for design_number, (design_name, planned) in enumerate((designs or DESIGNS).items()):
        for scenario_number, scenario in enumerate(SCENARIOS):
            generator = np.random.default_rng(seed + 100 * design_number + scenario_number)
            verdicts, earlier = [], []
            for _ in range(simulations):
                premise = simulate_cluster_trial(
                    planned, effect=scenario.premise_effect, generator=generator
                )
                headline = simulate_cluster_trial(
                    planned, effect=scenario.headline_effect, generator=generator
                )
                estimates = pd.DataFrame(
                    [_row(headline, "headline", SESOI), _row(premise, "premise", None)]
                )
                card = score_assumptions(
                    estimates, assignment="cluster_randomised", assumptions=[ASSUMPTION]
                )[0]
                verdicts.append(str(card["verdict"]))
                earlier.append(earlier_rule(estimates))
                if progress is not None:
                    progress(1)
            for rule, found in (("this rule", verdicts), ("earlier rule", earlier)):
                shares = pd.Series(found).value_counts(normalize=True)
                wrong = float(sum(shares.get(verdict, 0.0) for verdict in scenario.wrong))
                rows.append(
                    {
                        "design": design_name,
                        "scenario": scenario.name,
                        "rule": rule,
                        "n_simulations": simulations,
                        "supported": float(shares.get("supported", 0.0)),
                        "contradicted": float(shares.get("contradicted", 0.0)),
                        "inconclusive": float(shares.get("inconclusive", 0.0)),
                        "wrong": wrong,
                        "wrong_se": math.sqrt(wrong * (1 - wrong) / simulations),
                        "wrong_verdicts": " or ".join(scenario.wrong),
                    }
                )
    return pd.DataFrame(rows)
