"""Equivalence tests and minimum detectable effects of estimates: no effect vs not enough evidence.

An estimate is one of three things: an effect shown (the two-sided test rejects no effect),
an effect larger than the smallest effect size of interest (SESOI) ruled out (the two one-sided
tests reject both ``effect <= -SESOI`` and ``effect >= SESOI``), or inconclusive, in which
case the minimum detectable effect (MDE) says what the study could have detected.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd
from scipy import stats

from measurement.power import minimum_detectable_effect_from_standard_error

__all__ = [
    "CONCLUSIONS",
    "EvidenceReading",
    "implied_standard_error",
    "read_evidence",
    "two_one_sided_tests",
]

Conclusion = Literal["effect shown", "effect larger than the SESOI ruled out", "inconclusive"]
CONCLUSIONS: tuple[str, ...] = (
    "effect shown",
    "effect larger than the SESOI ruled out",
    "inconclusive",
)


def implied_standard_error(
    *, conf_low: float, conf_high: float, df: float, confidence: float = 0.95
) -> float:
    """The standard error that a symmetric interval of this width implies on t(df).

    For an interval from test inversion (the wild cluster bootstrap) or a CR2/Satterthwaite
    interval this is the standard error that reproduces it; TOST and the MDE then rest on the
    same inference as the interval.

    Examples
    --------
    >>> round(implied_standard_error(conf_low=-1.96, conf_high=1.96, df=math.inf), 3)
    1.0
    """
    if not conf_high > conf_low:
        raise ValueError(
            f"implied_standard_error: conf_high must exceed conf_low; got [{conf_low!r}, "
            f"{conf_high!r}]. Pass a non-degenerate interval."
        )
    critical = _critical(1 - (1 - confidence) / 2, df)
    return (conf_high - conf_low) / (2 * critical)


def _critical(quantile: float, df: float) -> float:
    return float(stats.norm.ppf(quantile) if math.isinf(df) else stats.t.ppf(quantile, df))


def _sf(value: float, df: float) -> float:
    return float(stats.norm.sf(value) if math.isinf(df) else stats.t.sf(value, df))


def two_one_sided_tests(*, estimate: float, std_error: float, df: float, sesoi: float) -> float:
    """The TOST p-value of ``|effect| < sesoi``: the larger of the two one-sided p-values.

    ``H0: effect <= -sesoi`` is rejected for large ``(estimate + sesoi) / SE``, ``H0: effect >=
    sesoi`` for small ``(estimate - sesoi) / SE``; equivalence is shown at level ``alpha``
    when the p-value is below ``alpha`` (equivalently, the ``1 - 2 alpha`` interval lies
    within ``±sesoi``).

    References
    ----------
    Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power
    approach for assessing the equivalence of average bioavailability. *Journal of
    Pharmacokinetics and Biopharmaceutics*, 15(6), 657-680.

    Lakens, D. (2017). Equivalence tests: a practical primer for t tests, correlations, and
    meta-analyses. *Social Psychological and Personality Science*, 8(4), 355-362.

    Examples
    --------
    >>> round(two_one_sided_tests(estimate=0.0, std_error=0.1, df=math.inf, sesoi=0.2), 4)
    0.0228
    """
    if not sesoi > 0:
        raise ValueError(
            f"two_one_sided_tests: sesoi must be positive; got {sesoi!r}. Declare the smallest "
            "effect size of interest as a positive number."
        )
    if not std_error > 0:
        raise ValueError(f"two_one_sided_tests: std_error must be positive; got {std_error!r}.")
    lower = _sf((estimate + sesoi) / std_error, df)
    upper = _sf((sesoi - estimate) / std_error, df)
    return max(lower, upper)


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceReading:
    """What one estimate shows: an effect, an effect beyond the SESOI ruled out, or neither."""

    conclusion: str
    minimum_detectable_effect: float
    sesoi: float
    p_value_equivalence: float
    std_error: float
    df: float
    sentence: str

    def tidy(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def read_evidence(
    *,
    estimate: float,
    p_value: float,
    conf_low: float,
    conf_high: float,
    df: float,
    sesoi: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    confidence: float = 0.95,
    unit: str = "",
) -> EvidenceReading:
    """Classify one estimate by its primary p-value, interval and (optional) SESOI.

    Parameters
    ----------
    estimate, p_value, conf_low, conf_high : float
        The estimate with the design's primary p-value and ``confidence`` interval.
    df : float
        Degrees of freedom of the primary inference (``G - 1`` clusters for clustered
        inference; ``math.inf`` for a normal reference).
    sesoi : float or None
        Smallest effect size of interest, in the estimate's units; None when not declared.
    alpha, power : float
        Level of both tests and the power at which the MDE is read.
    unit : str
        Words after a number in the sentence (for example ``" points"``).

    Returns
    -------
    EvidenceReading
        ``conclusion`` is "effect shown" when ``p_value < alpha``; "effect larger than the
        SESOI ruled out" when TOST on the interval's implied standard error gives a p-value
        below ``alpha``; else "inconclusive". ``sentence`` says it in words with the MDE.

    Notes
    -----
    The standard error is the one the primary interval implies (:func:`implied_standard_error`),
    so TOST and the MDE rest on the primary inference, not on a CR1 standard error that may
    be too small with few clusters.

    Examples
    --------
    >>> reading = read_evidence(estimate=0.02, p_value=0.8, conf_low=-0.08, conf_high=0.12,
    ...                         df=39, sesoi=0.2)
    >>> reading.conclusion
    'effect larger than the SESOI ruled out'
    """
    values = (estimate, p_value, conf_low, conf_high)
    if any(value is None or not math.isfinite(float(value)) for value in values):
        return EvidenceReading(
            conclusion="inconclusive",
            minimum_detectable_effect=math.nan,
            sesoi=math.nan if sesoi is None else float(sesoi),
            p_value_equivalence=math.nan,
            std_error=math.nan,
            df=df,
            sentence="not estimated: no estimate or interval to read",
        )
    std_error = implied_standard_error(
        conf_low=conf_low, conf_high=conf_high, df=df, confidence=confidence
    )
    mde = minimum_detectable_effect_from_standard_error(
        std_error=std_error, df=df, power=power, alpha=alpha
    )
    tost = (
        math.nan
        if sesoi is None
        else two_one_sided_tests(estimate=estimate, std_error=std_error, df=df, sesoi=sesoi)
    )
    interval = f"{estimate:.3g}{unit} ({confidence:.0%} CI {conf_low:.3g} to {conf_high:.3g})"
    if p_value < alpha:
        conclusion = "effect shown"
        sentence = f"effect shown: {interval}, p = {p_value:.3f}"
    elif sesoi is not None and tost < alpha:
        conclusion = "effect larger than the SESOI ruled out"
        sentence = (
            f"an effect larger than the SESOI of ±{sesoi:.3g}{unit} is ruled out: {interval}, "
            f"equivalence p = {tost:.3f}"
        )
    else:
        conclusion = "inconclusive"
        sesoi_part = (
            "" if sesoi is None else f", and an effect of ±{sesoi:.3g}{unit} is not ruled out"
        )
        sentence = (
            f"inconclusive: {interval}, p = {p_value:.3f}; the study could detect only effects "
            f"of {mde:.3g}{unit} or more with {power:.0%} power{sesoi_part}"
        )
    return EvidenceReading(
        conclusion=conclusion,
        minimum_detectable_effect=mde,
        sesoi=math.nan if sesoi is None else float(sesoi),
        p_value_equivalence=tost,
        std_error=std_error,
        df=df,
        sentence=sentence,
    )
