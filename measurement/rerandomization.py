"""The re-randomization rule: which assignments a study accepted when it randomised.

A study that re-randomised (drew assignments until the arms were balanced on baseline
covariates, Morgan and Rubin 2012) must use the same acceptance rule when it re-draws the
assignment for randomization inference: otherwise the reference distribution contains
assignments that could never have been chosen. One rule serves both, assignment
(:func:`measurement.assignment.assign_units`) and randomization inference
(:func:`measurement.randomization_inference.randomization_inference`): accept an assignment
when every covariate's standardized difference between the arms, computed on one value per
unit of assignment, is at most a threshold in absolute value. The difference is scaled by
the covariate's standard deviation over all units (ddof 1), which is the same for every
assignment, so the rule depends on the assignment only through the difference in means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = ["RULE_KINDS", "BalanceRule", "standardized_differences"]

RULE_KINDS = ("max_abs_standardized_difference",)
"""The rule kinds an assignment record can name (``BalanceRule.kind``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceRule:
    """Accept an assignment when max |standardized difference| <= ``threshold``.

    Attributes
    ----------
    covariates : tuple of str
        Columns balanced, one value per unit of assignment (in randomization inference
        without a recorded assignment, the unweighted mean of the cluster's rows; a
        cluster-level covariate is its own mean).
    threshold : float
        The largest absolute standardized difference accepted (for example 0.1).
    maximum_draws : int, default 10,000
        At assignment, the number of draws after which the search stops with an error.

    Examples
    --------
    >>> rule = BalanceRule(covariates=("x",), threshold=1.0)
    >>> rule.accepts(np.array([[1.0], [2.0], [3.0], [4.0]]),
    ...     np.array([[1, 0, 0, 1], [0, 0, 1, 1]])).tolist()
    [True, False]
    """

    covariates: tuple[str, ...]
    threshold: float
    maximum_draws: int = 10_000
    kind: ClassVar[str] = "max_abs_standardized_difference"

    def __post_init__(self) -> None:
        if isinstance(self.covariates, str) or not self.covariates:
            raise ValueError(
                f"BalanceRule: covariates must be a non-empty tuple of column names; got "
                f"{self.covariates!r}. Pass for example ('years', 'baseline_intention')."
            )
        if not (
            isinstance(self.threshold, int | float)
            and np.isfinite(self.threshold)
            and self.threshold > 0
        ):
            raise ValueError(
                f"BalanceRule: threshold must be a positive number; got {self.threshold!r}. "
                "Pass the value used at assignment, for example 0.1."
            )
        if isinstance(self.maximum_draws, bool) or not (
            isinstance(self.maximum_draws, int) and self.maximum_draws >= 1
        ):
            raise ValueError(
                f"BalanceRule: maximum_draws must be a positive integer; got "
                f"{self.maximum_draws!r}. Pass for example 10000."
            )

    def describe(self) -> str:
        """The rule in words."""
        return (
            f"re-randomization rule: max |standardized difference| <= {self.threshold:g} on "
            f"{', '.join(self.covariates)} (one value per unit, SD over all units)"
        )

    def accepts(self, values: np.ndarray, assignments: np.ndarray) -> np.ndarray:
        """Whether the rule accepts each assignment.

        Parameters
        ----------
        values : numpy.ndarray
            (units x covariates) matrix, columns in the order of ``covariates``.
        assignments : numpy.ndarray
            (draws x units) 0/1 matrix.

        Returns
        -------
        numpy.ndarray
            One boolean per draw; a covariate that does not vary never blocks a draw.
        """
        differences = np.abs(standardized_differences(values, assignments))
        return np.all(np.nan_to_num(differences, nan=0.0) <= self.threshold, axis=1)


def standardized_differences(values: np.ndarray, assignments: np.ndarray) -> np.ndarray:
    """Standardized differences between arms of each covariate, for each assignment.

    Parameters
    ----------
    values : numpy.ndarray
        (units x covariates) matrix, one value per unit.
    assignments : numpy.ndarray
        (draws x units) 0/1 matrix.

    Returns
    -------
    numpy.ndarray
        (draws x covariates): (mean over treated units - mean over comparison units)
        divided by the standard deviation of the covariate over all units (ddof 1), which
        is the same for every assignment; NaN for a covariate that does not vary.

    Examples
    --------
    >>> values = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> float(standardized_differences(values, np.array([[1, 0, 0, 1]]))[0, 0])
    0.0
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
