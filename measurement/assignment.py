"""Random assignment of clusters (or respondents) to the campaign, within strata, reproducibly.

The draw is fixed by its seed; an optional re-randomisation rule
(:class:`measurement.rerandomization.BalanceRule`: redraw until every covariate's
standardized difference is within a bound) is recorded, with the units' covariate values
and the number of draws it took, in an :class:`measurement.assignment_record.AssignmentRecord`
that randomization inference later reads to draw from the same restricted set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from measurement.arguments import check_columns, check_responses
from measurement.assignment_record import AssignmentRecord, unit_label
from measurement.errors import DesignError
from measurement.rerandomization import BalanceRule

__all__ = [
    "ASSIGNMENT_BALANCE_COLUMNS",
    "Assignment",
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
"""Columns of :func:`assignment_balance`: means by arm and the difference in SDs over all units."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """A drawn assignment: 1 for campaign, 0 for comparison, per unit, with its record."""

    treated: pd.Series
    seed: int
    draws: int
    rule: str
    balance: pd.DataFrame = field(repr=False)
    record: AssignmentRecord = field(repr=False)
    """The structured record randomization inference reads (units, strata, arms, values)."""


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
    """Means by arm and standardized differences of the drawn assignment.

    The difference in means is divided by the covariate's standard deviation over all units
    with a value (ddof 1), the scale :class:`measurement.rerandomization.BalanceRule` judges,
    so the balance shown is the number the rule compared with its threshold.
    """
    arm = np.asarray(treated)
    rows = []
    for name in covariates:
        values = pd.to_numeric(units[name], errors="coerce").to_numpy(float)
        present = ~np.isnan(values)
        first, second = values[present & (arm == 1)], values[present & (arm == 0)]
        spread = float(np.std(values[present], ddof=1)) if present.sum() > 1 else np.nan
        difference = (
            (first.mean() - second.mean()) / spread
            if len(first) and len(second) and spread > 0
            else np.nan
        )
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
    rule: BalanceRule | None = None,
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
    rule : BalanceRule or None
        Redraw until the rule holds (at most ``rule.maximum_draws`` draws); the number of
        draws is recorded.

    Returns
    -------
    Assignment
        ``treated`` indexed by unit, the seed, the draws taken, the rule in words, the
        balance table of the accepted draw and the structured ``record`` (units, strata,
        arms, the rule's covariate values, rule, seed, draws).

    Raises
    ------
    DesignError
        When a unit is listed twice, a stratum has a single unit, a rule covariate is
        missing for some unit, or the rule is not met within its maximum draws.

    Notes
    -----
    Randomization inference that re-draws within strata and keeps the draws ``rule``
    accepts reproduces this mechanism conditional on the number treated in each stratum
    (Morgan and Rubin 2012); pass ``record`` as its ``rerandomization``.

    References
    ----------
    Morgan, K. L., & Rubin, D. B. (2012). Rerandomization to improve covariate balance in
    experiments. Annals of Statistics, 40(2), 1263-1282.

    Examples
    --------
    >>> units = pd.DataFrame({"village": list("abcdef"), "region": list("xxxyyy")})
    >>> drawn = assign_units(units, unit="village", stratum="region", seed=3)
    >>> int(drawn.treated.sum())
    3
    """
    caller = "assign_units"
    check_responses(units, caller=caller)
    if rule is not None and not isinstance(rule, BalanceRule):
        raise TypeError(
            f"{caller}: rule must be a BalanceRule or None; got {type(rule).__name__}. Build "
            "it with BalanceRule(covariates=..., threshold=...)."
        )
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
    rule_covariates = tuple(rule.covariates) if rule else ()
    values = (
        units[list(rule_covariates)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        if rule
        else np.empty((len(units), 0))
    )
    if rule and np.isnan(values).any():
        incomplete = [
            name for index, name in enumerate(rule_covariates) if np.isnan(values[:, index]).any()
        ]
        raise DesignError(
            f"{caller}: the rule's covariates {incomplete!r} are missing or not numeric for "
            f"{int(np.isnan(values).any(axis=1).sum())} unit(s). Fill them, or leave them out "
            "of the rule."
        )
    generator = np.random.default_rng(seed)
    checked = tuple(dict.fromkeys([*covariates, *rule_covariates]))
    draws = 0
    while True:
        draws += 1
        treated = draw_assignment(strata, treated_share=treated_share, generator=generator)
        if rule is None or bool(rule.accepts(values, treated[None, :])[0]):
            break
        if draws >= rule.maximum_draws:
            raise DesignError(
                f"{caller}: no draw in {draws:,} met the rule ({rule.describe()}). Loosen the "
                "bound or check the covariates."
            )
    labels = tuple(unit_label(value) for value in units[unit].to_numpy())
    if len(set(labels)) != len(labels):
        raise DesignError(
            f"{caller}: unit identifiers of {unit!r} coincide once written as text (for example "
            "1 and '1'). Give each unit a distinct identifier."
        )
    record = AssignmentRecord(
        units=labels,
        strata=tuple(strata.astype(str).to_numpy()),
        treated=tuple(int(value) for value in treated),
        covariates=rule_covariates,
        values=tuple(tuple(float(value) for value in row) for row in values),
        rule=rule,
        seed=int(seed),
        draws=draws,
    )
    return Assignment(
        treated=pd.Series(treated, index=units[unit].to_numpy(), name="treated"),
        seed=seed,
        draws=draws,
        rule=rule.describe() if rule else "simple stratified randomisation (no re-randomisation)",
        balance=assignment_balance(units, treated, checked),
        record=record,
    )
