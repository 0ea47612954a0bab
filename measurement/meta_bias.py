"""Small-study effects: Egger's regression test and the data of a funnel plot.

Small-study effects (smaller studies showing larger effects) can come from publication bias,
from selective reporting, or from real differences between small and large studies; a funnel
plot and Egger's test show the pattern, never its cause.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from measurement.errors import DesignError, FewStudiesWarning
from measurement.meta_analysis import Method, Test, meta_regression

__all__ = [
    "EGGER_COLUMNS",
    "EGGER_MINIMUM",
    "FUNNEL_COLUMNS",
    "EggerTest",
    "egger_test",
    "funnel_data",
]

EGGER_MINIMUM = 10
"""Fewer studies than this: Egger's test has too little power to mean anything (Sterne et
al., 2011); a FewStudiesWarning says so."""

EGGER_COLUMNS = ["statistic", "p_value", "df", "limit_estimate", "n_studies", "model"]
"""Columns of :meth:`EggerTest.tidy`. ``limit_estimate`` is the intercept: the effect
predicted for a study of infinite precision (standard error 0)."""

FUNNEL_COLUMNS = ["estimate", "std_error", "expected_low", "expected_high"]
"""Columns of :func:`funnel_data`: each study's estimate and standard error, and the region
``pooled +/- 1.96 SE`` in which 95% of the estimates would fall without heterogeneity or
small-study effects."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EggerTest:
    """Egger's regression test for funnel-plot asymmetry."""

    statistic: float
    p_value: float
    df: float
    limit_estimate: float
    n_studies: int
    model: str

    def tidy(self) -> pd.DataFrame:
        """One row with the columns :data:`EGGER_COLUMNS`."""
        return pd.DataFrame([asdict(self)], columns=EGGER_COLUMNS)


def egger_test(
    effects: pd.DataFrame,
    *,
    estimate: str = "estimate",
    std_error: str = "std_error",
    model: Literal["rma", "lm"] = "rma",
    method: Method = "REML",
    test: Test = "knha",
) -> EggerTest:
    """Test whether estimates grow or shrink with their standard error.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per study estimate.
    estimate, std_error : str
        Columns of the estimates and their standard errors.
    model : {"rma", "lm"}
        ``"rma"`` (default, metafor's ``regtest``): a meta-regression of the estimates on
        their standard errors with the given ``method`` and ``test``; ``"lm"``: Egger's
        original weighted least squares of the estimates on their standard errors with
        weights ``1 / SE^2`` and a multiplicative dispersion, t(k - 2).
    method, test
        Of the meta-regression under ``model="rma"`` (default REML with Knapp-Hartung).

    Returns
    -------
    EggerTest
        The test of the standard-error coefficient and the limit estimate.

    Raises
    ------
    ValueError
        An unknown ``model`` or bad columns.
    DesignError
        Fewer than three studies.

    Warns
    -----
    FewStudiesWarning
        With fewer than :data:`EGGER_MINIMUM` studies.

    Notes
    -----
    With fewer than ten studies the test has too little power to distinguish chance from
    asymmetry; with heterogeneous effects, asymmetry can be real variation between small
    and large studies rather than bias.

    References
    ----------
    Egger, M., Davey Smith, G., Schneider, M., & Minder, C. (1997). Bias in meta-analysis
    detected by a simple, graphical test. BMJ, 315(7109), 629-634.
    Sterne, J. A. C., et al. (2011). Recommendations for examining and interpreting funnel
    plot asymmetry in meta-analyses of randomised controlled trials. BMJ, 343, d4002.

    Examples
    --------
    >>> import pandas as pd
    >>> studies = pd.DataFrame({"estimate": [0.1, 0.3, 0.35, 0.65, 0.45, 0.15, 0.2, 0.5,
    ...                                      0.25, 0.3],
    ...                         "std_error": [0.1, 0.12, 0.15, 0.2, 0.11, 0.09, 0.08, 0.18,
    ...                                       0.1, 0.13]})
    >>> result = egger_test(studies)
    >>> result.df
    8.0
    """
    if model not in ("rma", "lm"):
        raise ValueError(f"egger_test: model {model!r} is unknown. Choose 'rma' or 'lm'.")
    if not isinstance(effects, pd.DataFrame):
        raise TypeError(
            f"egger_test: effects must be a pandas DataFrame; got {type(effects).__name__}. "
            "Pass one row per study estimate."
        )
    k = len(effects)
    if k < 3:
        raise DesignError(
            f"egger_test: the test needs at least 3 studies; got {k}. Report the funnel "
            "plot without a test."
        )
    if k < EGGER_MINIMUM:
        warnings.warn(
            f"egger_test: only {k} studies; Egger's test has little power below "
            f"{EGGER_MINIMUM} and a non-significant result is no evidence of symmetry.",
            FewStudiesWarning,
            stacklevel=2,
        )
    frame = pd.DataFrame(
        {
            "estimate": pd.to_numeric(effects[estimate], errors="coerce"),
            "std_error": pd.to_numeric(effects[std_error], errors="coerce"),
        }
    )
    frame["standard_error_moderator"] = frame["std_error"]
    if model == "rma":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewStudiesWarning)
            fit = meta_regression(
                frame, moderators=["standard_error_moderator"], method=method, test=test
            )
        slope = fit.coefficients.iloc[1]
        return EggerTest(
            statistic=float(slope["statistic"]),
            p_value=float(slope["p_value"]),
            df=float(slope["df"]),
            limit_estimate=float(fit.coefficients.iloc[0]["estimate"]),
            n_studies=k,
            model=model,
        )
    y = frame["estimate"].to_numpy(dtype=float)
    se = frame["std_error"].to_numpy(dtype=float)
    if (~np.isfinite(y) | ~np.isfinite(se) | (se <= 0)).any():
        raise ValueError(
            "egger_test: some rows have a missing estimate or a standard error that is "
            "missing or not positive. Drop those rows."
        )
    X = np.column_stack([np.ones(k), se])
    w = 1.0 / se**2
    WX = X * w[:, None]
    inverse = np.linalg.inv(X.T @ WX)
    beta = inverse @ (WX.T @ y)
    dispersion = float(np.sum(w * (y - X @ beta) ** 2) / (k - 2))
    slope_se = math.sqrt(dispersion * float(inverse[1, 1]))
    statistic = float(beta[1]) / slope_se
    return EggerTest(
        statistic=statistic,
        p_value=float(2 * stats.t.sf(abs(statistic), k - 2)),
        df=float(k - 2),
        limit_estimate=float(beta[0]),
        n_studies=k,
        model=model,
    )


def funnel_data(
    effects: pd.DataFrame,
    *,
    pooled: float,
    estimate: str = "estimate",
    std_error: str = "std_error",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The points and the expected region of a funnel plot around ``pooled``.

    Returns a frame with the columns :data:`FUNNEL_COLUMNS`, one row per study, sorted by
    standard error; ``expected_low``/``expected_high`` are ``pooled -/+ z SE``.

    Examples
    --------
    >>> import pandas as pd
    >>> points = funnel_data(pd.DataFrame({"estimate": [0.1, 0.3], "std_error": [0.1, 0.2]}),
    ...                      pooled=0.15)
    >>> [round(x, 3) for x in points["expected_high"]]
    [0.346, 0.542]
    """
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    frame = pd.DataFrame(
        {
            "estimate": pd.to_numeric(effects[estimate], errors="coerce").to_numpy(dtype=float),
            "std_error": pd.to_numeric(effects[std_error], errors="coerce").to_numpy(dtype=float),
        }
    )
    frame["expected_low"] = pooled - z * frame["std_error"]
    frame["expected_high"] = pooled + z * frame["std_error"]
    return frame.sort_values("std_error", ignore_index=True)[FUNNEL_COLUMNS]
