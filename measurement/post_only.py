"""The effect on an outcome measured only after the campaign: an adjusted difference in means."""

from __future__ import annotations

import pandas as pd

from measurement.effects import (
    EffectEstimate,
    EffectModel,
    _check_arms,
    _in_words,
    _model_frame,
    fit_effect_model,
    summarize_effect,
)
from measurement.linear_model import VcovType


def estimate_post_only_difference(
    responses: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    cluster: str | None = None,
    stratum: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    weight: str | None = None,
    confidence: float = 0.95,
    vcov: VcovType | None = None,
) -> EffectEstimate:
    """Estimate an intention-to-treat effect on an outcome that has no baseline measure.

    The estimand is the difference in mean outcome between arms at one follow-up wave: the
    coefficient of ``treated`` in ``outcome ~ treated + covariates + stratum fixed effects``,
    fitted by OLS (WLS with ``weight``) on the rows of that wave, with CR1 errors clustered on
    ``cluster`` and a t(G-1) reference, or heteroskedasticity-robust errors (HC1 by default,
    ``vcov="HC2"`` as R ``estimatr::lm_robust``) with t(N-K) without a cluster. Without
    covariates or strata it is the plain difference in means.

    Parameters
    ----------
    responses : pandas.DataFrame
        The rows of one follow-up wave.
    outcome, treated : str
        Outcome and 0/1 assignment columns.
    cluster : str, optional
        Cluster column (None: an individually randomised study).
    stratum : str, optional
        Randomisation strata, as fixed effects.
    covariates : sequence of str, default ()
        Pre-specified covariates (measured before the campaign).
    weight : str, optional
        Survey weights.
    confidence : float, default 0.95
        Interval level.
    vcov : {"HC1", "HC2", "CR1", "CR2"}, optional
        Variance estimator (default: CR1 with a cluster, HC1 without).

    Returns
    -------
    EffectEstimate
        ``estimator`` is ``"post_only_difference"``; ``standardized_effect`` divides by the
        comparison arm's standard deviation at the follow-up wave (there is no baseline).

    Raises
    ------
    ValueError
        Missing columns or a treatment that is not 0/1.
    DesignError
        An arm without rows.

    Notes
    -----
    Without a baseline the estimate is less precise than ANCOVA and rests on randomisation
    alone for comparability; declared covariates recover part of the precision.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> frame = pd.DataFrame({"treated": np.repeat([0, 1], 100), "unit": np.arange(200)})
    >>> frame["y"] = 2.0 * frame["treated"] + rng.normal(size=200)
    >>> effect = estimate_post_only_difference(frame, outcome="y", treated="treated")
    >>> round(effect.estimate, 2)
    2.0
    """
    caller = "estimate_post_only_difference"
    covariates = list(covariates)
    frame = _model_frame(
        responses, [outcome, treated, cluster, *covariates, stratum, weight],
        treated=treated, caller=caller,
    )  # fmt: skip
    complete = frame.dropna()
    _check_arms(complete, treated, cluster, [], caller)
    comparison = (frame[treated] == 0).to_numpy() & frame.notna().all(axis=1).to_numpy()
    model = EffectModel(
        frame=frame,
        outcome=outcome,
        treated=treated,
        regressors=[treated, *covariates],
        term=treated,
        cluster=cluster,
        stratum=stratum,
        fixed_effects=[stratum] if stratum is not None else [],
        weight=weight,
        estimator="post_only_difference",
        specification=_in_words(
            f"difference in means after the campaign (no baseline): {outcome} ~ {treated}",
            covariates,
            [stratum] if stratum is not None else [],
            weight,
        ),
        permuted={treated: None},
        comparison=comparison,
        comparison_baseline=frame.loc[comparison, outcome],
    )
    fit = fit_effect_model(model, vcov=vcov)
    return summarize_effect(model, fit, confidence=confidence, caller=caller)
