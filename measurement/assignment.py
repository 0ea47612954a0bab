"""Random assignment of clusters (or respondents) to the campaign, within strata, reproducibly.

The draw is fixed by its seed; an optional re-randomisation rule (redraw until every
covariate's standardized difference is within a bound) is recorded with the number of draws
it took, so that randomization inference can later draw from the same restricted set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from measurement.arguments import check_columns, check_responses
from measurement.errors import DesignError

__all__ = [
    "ASSIGNMENT_BALANCE_COLUMNS",
    "Assignment",
    "RerandomisationRule",
    "assign_units",
    "assignment_balance",
    "draw_assignment",
]

ASSIGNMENT_BALANCE_COLUMNS = [
    "covariate",
    "mean_treated",
    "mean_comparison",
    "standardized_difference",
    "n_treated",
    "n_comparison",
]
"""Columns of :func:`assignment_balance`: means by arm and the difference over the pooled SD."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RerandomisationRule:
    """Redraw until every covariate's |standardized difference| is at most ``maximum``."""

    covariates: tuple[str, ...]
    maximum: float
    maximum_draws: int = 10_000

    def describe(self) -> str:
        return (
            f"redraw until |standardized difference| <= {self.maximum:g} for "
            f"{', '.join(self.covariates)} (at most {self.maximum_draws:,} draws)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """A drawn assignment: 1 for campaign, 0 for comparison, per unit, with its record."""

    treated: pd.Series
    seed: int
    draws: int
    rule: str
    balance: pd.DataFrame = field(repr=False)


def draw_assignment(
    strata: pd.Series, *, treated_share: float, generator: np.random.Generator
) -> np.ndarray:
    """One draw: within each stratum, ``round(share x n)`` units treated; a stratum's odd
    unit (when ``share x n`` is not whole) goes to the campaign with probability equal to
    the fractional part."""
    treated = np.zeros(len(strata), dtype=int)
    positions = np.arange(len(strata))
    for _, members in pd.Series(positions).groupby(strata.to_numpy()):
        indices = members.to_numpy()
        target = treated_share * len(indices)
        count = int(np.floor(target)) + int(generator.random() < target - np.floor(target))
        chosen = generator.permutation(indices)[:count]
        treated[chosen] = 1
    return treated


def assignment_balance(
    units: pd.DataFrame, treated: Sequence[int] | np.ndarray, covariates: Sequence[str]
) -> pd.DataFrame:
    """Means by arm and standardized differences (pooled SD) of the drawn assignment."""
    arm = np.asarray(treated)
    rows = []
    for name in covariates:
        values = pd.to_numeric(units[name], errors="coerce").to_numpy(float)
        first, second = values[arm == 1], values[arm == 0]
        first, second = first[~np.isnan(first)], second[~np.isnan(second)]
        spread = (
            np.sqrt((np.var(first, ddof=1) + np.var(second, ddof=1)) / 2)
            if (len(first) > 1 and len(second) > 1)
            else np.nan
        )
        difference = (first.mean() - second.mean()) / spread if spread and spread > 0 else np.nan
        rows.append(
            {
                "covariate": name,
                "mean_treated": float(first.mean()) if len(first) else np.nan,
                "mean_comparison": float(second.mean()) if len(second) else np.nan,
                "standardized_difference": float(difference),
                "n_treated": len(first),
                "n_comparison": len(second),
            }
        )
    return pd.DataFrame(rows, columns=ASSIGNMENT_BALANCE_COLUMNS)


def assign_units(
    units: pd.DataFrame,
    *,
    unit: str,
    seed: int,
    stratum: str | None = None,
    treated_share: float = 0.5,
    covariates: Sequence[str] = (),
    rule: RerandomisationRule | None = None,
) -> Assignment:
    """Randomly assign each unit (a cluster, or a respondent) to campaign or comparison.

    Parameters
    ----------
    units : DataFrame
        One row per unit of assignment, with ``unit``, ``stratum`` and ``covariates``.
    unit : str
        The unit's identifier column (each value once).
    seed : int
        Seed of the draw: the same seed and units give the same assignment.
    stratum : str or None
        Randomise within the strata of this column.
    treated_share : float
        Share of each stratum assigned to the campaign.
    covariates : sequence of str
        Columns whose balance is reported.
    rule : RerandomisationRule or None
        Redraw until the rule holds; the number of draws is recorded.

    Returns
    -------
    Assignment
        ``treated`` indexed by unit, the seed, the draws taken, the rule in words and the
        balance table of the accepted draw.

    Raises
    ------
    DesignError
        When a unit is listed twice, a stratum has a single unit, or the rule is not met
        within its maximum draws.

    Examples
    --------
    >>> units = pd.DataFrame({"village": list("abcdef"), "region": list("xxxyyy")})
    >>> drawn = assign_units(units, unit="village", stratum="region", seed=3)
    >>> int(drawn.treated.sum())
    3
    """
    caller = "assign_units"
    check_responses(units, caller=caller)
    check_columns(
        units,
        [unit, *([stratum] if stratum else []), *covariates, *(rule.covariates if rule else ())],
        caller=caller,
    )
    if units[unit].duplicated().any():
        raise DesignError(
            f"{caller}: {int(units[unit].duplicated().sum())} unit(s) of {unit!r} are listed "
            "more than once. List each unit of assignment once."
        )
    if not 0 < treated_share < 1:
        raise ValueError(f"{caller}: treated_share must lie in (0, 1); got {treated_share!r}.")
    strata = units[stratum].astype(str) if stratum else pd.Series("all", index=units.index)
    sizes = strata.value_counts()
    if (sizes < 2).any():
        raise DesignError(
            f"{caller}: stratum/strata {sorted(sizes[sizes < 2].index)} hold one unit; a "
            "stratum needs a unit in each arm. Merge small strata."
        )
    generator = np.random.default_rng(seed)
    checked = tuple(dict.fromkeys([*covariates, *(rule.covariates if rule else ())]))
    draws = 0
    while True:
        draws += 1
        treated = draw_assignment(strata, treated_share=treated_share, generator=generator)
        balance = assignment_balance(units, treated, checked)
        if rule is None:
            break
        shown = balance.set_index("covariate").loc[list(rule.covariates), "standardized_difference"]
        if (shown.abs() <= rule.maximum).all():
            break
        if draws >= rule.maximum_draws:
            raise DesignError(
                f"{caller}: no draw in {draws:,} met the rule ({rule.describe()}). Loosen the "
                "bound or check the covariates."
            )
    return Assignment(
        treated=pd.Series(treated, index=units[unit].to_numpy(), name="treated"),
        seed=seed,
        draws=draws,
        rule=rule.describe() if rule else "simple stratified randomisation (no re-randomisation)",
        balance=balance,
    )
