"""The methods appendix: the formula, specification and inference of each estimator of the run."""

from __future__ import annotations

import pandas as pd

from flows.report.findings import estimator_words

ESTIMATOR_FORMULAS = {
    "ipw": "y_{i,t} = α + τ·exposed_i [+ β·y_{i,baseline}] + γ'x_i + μ_stratum + ε_i, "
    "weighted by 1/e(x_i) or 1/(1 − e(x_i)), e(x) = P(exposed | x) by logistic regression",
    "ordered_logit": "P(y_{i,t} ≤ j) = Λ(κ_j − τ·treated_c − β·y_{i,baseline} − μ_stratum)",
    "logit_ame": "P(y_{i,t} = 1) = Λ(α + τ·treated_c + β·y_{i,baseline} + μ_stratum); "
    "AME = mean_i [Λ(α + τ + ...) − Λ(α + ...)]",
    "probit_ame": "P(y_{i,t} = 1) = Φ(α + τ·treated_c + β·y_{i,baseline} + μ_stratum); "
    "AME = mean_i [Φ(α + τ + ...) − Φ(α + ...)]",
    "ancova": "y_{i,t} = α + τ·treated_c + β·y_{i,baseline} + μ_stratum + ε_i",
    "did": "y_{i,t} = τ·(treated_c × post_t) + γ·treated_c + δ·post_t + μ_stratum + ε_i",
}


def estimator_methods(estimates: pd.DataFrame) -> list[dict[str, object]]:
    """One entry per estimator of ``estimates``: its specification, inference and formula."""
    specifications = (
        estimates[["estimator", "specification", "inference"]].drop_duplicates("estimator")
        if not estimates.empty
        else pd.DataFrame(columns=["estimator", "specification", "inference"])
    )
    return [
        {
            "estimator": row.estimator,
            "name": estimator_words(row.estimator).capitalize(),
            "specification": row.specification,
            "inference": row.inference,
            "formula": ESTIMATOR_FORMULAS.get(str(row.estimator).lower().split()[0], ""),
        }
        for row in specifications.itertuples(index=False)
    ]
