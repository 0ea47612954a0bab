"""Errors and warnings raised by the estimators in :mod:`measurement`."""

from __future__ import annotations

__all__ = [
    "DesignError",
    "FewClustersWarning",
    "FewStudiesWarning",
    "LowReliabilityWarning",
    "StatisticalCaveatWarning",
]


class DesignError(ValueError):
    """The data cannot identify the requested design.

    Raised for an empty arm-by-wave cell, a single cluster (or a single cluster in an arm),
    an outcome without variation, or a treatment that does not vary within the fixed effects.
    """


class StatisticalCaveatWarning(UserWarning):
    """A statistical caveat about a result that is still returned (never a switch of method)."""


class FewClustersWarning(StatisticalCaveatWarning):
    """Cluster-robust inference rests on few clusters; prefer the wild bootstrap p-value."""


class FewStudiesWarning(StatisticalCaveatWarning):
    """A pooled estimate or a small-study test rests on few studies: tau^2, the prediction
    interval and Egger's test are poorly determined; read the pooled estimate as provisional."""


class LowReliabilityWarning(StatisticalCaveatWarning):
    """A construct's items agree poorly (Cronbach's alpha under the threshold); read its score
    and any effect on it with care, or report the items one by one."""


class PoorOverlapWarning(StatisticalCaveatWarning):
    """Exposed and unexposed respondents overlap poorly on their propensity scores.

    Some scores are extreme, many rows lie outside the common support, or the weights leave
    a small effective sample: the weighted comparison leans on few respondents and on the
    propensity model's extrapolation. Read the overlap table and the weighted balance.
    """
