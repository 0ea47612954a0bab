"""Re-randomization rules: which cluster assignments a study accepted when it randomised.

A study that re-randomised (drew assignments until the arms were balanced on baseline
covariates, Morgan and Rubin 2012) must use the same acceptance rule when it re-draws the
assignment for randomization inference: otherwise the reference distribution contains
assignments that could never have been chosen. The rule here is the common one: accept an
assignment when every covariate's standardized difference between the arms, computed on
one value per cluster, is at most a threshold in absolute value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BalanceRule", "standardized_differences"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceRule:
    """Accept an assignment when max |standardized difference| <= ``threshold``.

    Attributes
    ----------
    covariates : tuple of str
        Columns whose cluster means are balanced (one value per cluster: the unweighted
        mean of the cluster's rows; a cluster-level covariate is its own mean).
    threshold : float
        The largest absolute standardized difference accepted (for example 0.1).
    """

    covariates: tuple[str, ...]
    threshold: float

    def __post_init__(self) -> None:
        if isinstance(self.covariates, str) or not self.covariates:
            raise ValueError(
                f"BalanceRule: covariates must be a non-empty tuple of column names; got "
                f"{self.covariates!r}. Pass for example ('years', 'baseline_intention')."
            )
        if not (np.isfinite(self.threshold) and self.threshold > 0):
            raise ValueError(
                f"BalanceRule: threshold must be a positive number; got {self.threshold!r}. "
                "Pass the value used at assignment, for example 0.1."
            )

    def describe(self) -> str:
        """The rule in words."""
        return (
            f"re-randomization rule: max |standardized difference| <= {self.threshold:g} on "
            f"cluster means of {', '.join(self.covariates)}"
        )


def standardized_differences(values: np.ndarray, assignments: np.ndarray) -> np.ndarray:
    """Standardized differences between arms of each covariate, for each assignment.

    Parameters
    ----------
    values : numpy.ndarray
        (clusters x covariates) matrix, one value per cluster.
    assignments : numpy.ndarray
        (draws x clusters) 0/1 matrix.

    Returns
    -------
    numpy.ndarray
        (draws x covariates): (mean over treated clusters - mean over comparison clusters)
        divided by the standard deviation of the covariate over all clusters (ddof 1), which
        is the same for every assignment, so the rule depends on the assignment only through
        the difference in means.
    """
    treated = (assignments == 1).astype(float)
    n_treated = treated.sum(axis=1, keepdims=True)
    n_comparison = treated.shape[1] - n_treated
    totals = values.sum(axis=0)[None, :]
    sums_treated = treated @ values
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = sums_treated / n_treated - (totals - sums_treated) / n_comparison
        scale = values.std(axis=0, ddof=1)
        return difference / np.where(scale > 0, scale, np.nan)[None, :]
