"""Produce tests/reference/linear_model_reference.json: CR1 and wild bootstrap reference numbers.

Run from the repository root: ``.venv/bin/python tests/reference/make_linear_model_reference.py``.
Writes the data set (linear_model_reference_data.csv) and the numbers of statsmodels
(OLS/WLS with stratum dummies, cov_type="cluster": Stata's regress, vce(cluster) convention)
and pyfixest (feols with vcov={"CRV1": ...}: R fixest's default convention; wildboottest()).
R and Stata are not installed on the machine that produced the file; pyfixest's CRV1 numbers
are tested against R fixest in pyfixest's own test suite.
"""

from __future__ import annotations

import json
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest
import statsmodels
import statsmodels.formula.api as smf

HERE = Path(__file__).parent


def simulate() -> pd.DataFrame:
    rng = np.random.default_rng(20240401)
    clusters, per_cluster = 24, 25
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), per_cluster)})
    frame["stratum"] = frame["cluster"] % 4
    frame["treated"] = ((frame["cluster"] // 4) % 2).astype(float)
    frame["baseline"] = rng.normal(size=len(frame))
    frame["weight"] = rng.uniform(0.5, 2.0, size=len(frame)).round(3)
    shock = rng.normal(scale=0.5, size=clusters)[frame["cluster"]]
    frame["outcome"] = (
        0.25 * frame["treated"]
        + 0.6 * frame["baseline"]
        + 0.3 * frame["stratum"]
        + shock
        + rng.normal(size=len(frame))
    ).round(6)
    return frame


def main() -> None:
    frame = simulate()
    frame.to_csv(HERE / "linear_model_reference_data.csv", index=False)
    frame = pd.read_csv(HERE / "linear_model_reference_data.csv")
    cases = {}
    for name, formula, fixest_formula, weight, terms in [
        (
            "no_fixed_effects",
            "outcome ~ treated + baseline",
            "outcome ~ treated + baseline",
            None,
            ("treated", "baseline"),
        ),
        (
            "stratum_fixed_effects",
            "outcome ~ treated + baseline + C(stratum)",
            "outcome ~ treated + baseline | stratum",
            None,
            ("treated", "baseline"),
        ),
        (
            "weighted_no_fixed_effects",
            "outcome ~ treated + baseline",
            "outcome ~ treated + baseline",
            "weight",
            ("treated", "baseline"),
        ),
        (
            "weighted_stratum_fixed_effects",
            "outcome ~ treated + baseline + C(stratum)",
            "outcome ~ treated + baseline | stratum",
            "weight",
            ("treated", "baseline"),
        ),
        # Fixed effects nested in the cluster: statsmodels counts the dummies, fixest not.
        (
            "cluster_fixed_effects_nested",
            "outcome ~ baseline + C(cluster)",
            "outcome ~ baseline | cluster",
            None,
            ("baseline",),
        ),
    ]:
        model = (
            smf.wls(formula, frame, weights=frame[weight]) if weight else smf.ols(formula, frame)
        )
        fitted = model.fit(
            cov_type="cluster",
            cov_kwds={"groups": frame["cluster"], "use_correction": True, "df_correction": True},
        )
        fixest = pyfixest.feols(fixest_formula, frame, vcov={"CRV1": "cluster"}, weights=weight)
        cases[name] = {
            "statsmodels": {
                term: {"estimate": float(fitted.params[term]), "std_error": float(fitted.bse[term])}
                for term in terms
            },
            "pyfixest": {
                term: {
                    "estimate": float(fixest.coef()[term]),
                    "std_error": float(fixest.se()[term]),
                    "p_value": float(fixest.pvalue()[term]),
                }
                for term in terms
            },
        }
    fixest = pyfixest.feols("outcome ~ treated + baseline", frame, vcov={"CRV1": "cluster"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = fixest.wildboottest(reps=9999, param="treated", seed=7)
    wild = {
        "reps": 9999,
        "weights": "rademacher",
        "t_value": float(boot["t value"]),
        "p_value": float(boot["Pr(>|t|)"]),
    }
    reference = {
        "versions": {
            "statsmodels": statsmodels.__version__,
            "pyfixest": pyfixest.__version__,
            "wildboottest": version("wildboottest"),
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "tolerance": {"statsmodels_std_error_relative": 1e-6, "pyfixest_std_error_relative": 1e-6},
        "cases": cases,
        "wild_bootstrap_no_fixed_effects": wild,
    }
    (HERE / "linear_model_reference.json").write_text(json.dumps(reference, indent=2) + "\n")


if __name__ == "__main__":
    main()
