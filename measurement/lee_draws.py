"""Lee bounds of many bootstrap draws at once, from the collapsed rows of one outcome.

A draw of the Lee bounds bootstrap gives each resampled unit (cluster or respondent) a count
of copies. Everything the bounds need except the trimmed means is a sum over units (follow-up
rates, arm means, stratum sizes), so it is a (draws x units) by (units) product here; only
the trimmed arm's observed rows, sorted by outcome once, are weighted row by row, for a
block of draws at a time and only in the draws that trim that arm. A draw then costs a few
passes over one arm's rows instead of some fifty masks and copies of every collapsed row.
The bounds equal those of :func:`measurement.attrition._bounds` on the drawn rows up to the
order of summation (tested to 1e-12 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DrawLayout", "block_draws"]

BLOCK_CELLS = 2_000_000
"""Largest draws x rows matrix one block of draws weights (16 MB of float64 per matrix)."""


@dataclass(frozen=True, slots=True)
class _ArmRows:
    """One arm of one stratum: per-unit sums, and its observed rows in ascending outcome."""

    rows: np.ndarray
    """Rows of the arm (observed or not) per unit."""
    seen: np.ndarray
    """Observed rows of the arm per unit."""
    total: np.ndarray
    """Summed weight of the arm's rows per unit."""
    observed_total: np.ndarray
    """Summed weight of the arm's observed rows per unit."""
    observed_sum: np.ndarray
    """Summed weight x outcome of the arm's observed rows per unit."""
    unit: np.ndarray
    """Unit of each observed row, rows in ascending order of the outcome."""
    weight: np.ndarray
    value: np.ndarray


@dataclass(frozen=True, slots=True)
class DrawLayout:
    """The collapsed rows of one outcome arranged by stratum and arm (treatment, comparison)."""

    strata: tuple[tuple[_ArmRows, _ArmRows], ...]
    stratified: bool

    @classmethod
    def build(
        cls,
        values: np.ndarray,
        treated: np.ndarray,
        observed: np.ndarray,
        units: np.ndarray,
        weights: np.ndarray,
        strata: np.ndarray | None,
        n_units: int,
    ) -> DrawLayout:
        """From rows sorted by stratum and outcome (see ``attrition._collapsed_rows``)."""
        levels = np.zeros(values.size, dtype=np.int64) if strata is None else strata
        n_strata = int(levels.max()) + 1 if levels.size else 0
        arranged = []
        for level in range(n_strata):
            arms = []
            for arm in (1.0, 0.0):
                members = (levels == level) & (treated == arm)
                seen = members & observed
                arms.append(
                    _ArmRows(
                        rows=np.bincount(units[members], minlength=n_units).astype(float),
                        seen=np.bincount(units[seen], minlength=n_units).astype(float),
                        total=np.bincount(
                            units[members], weights=weights[members], minlength=n_units
                        ),
                        observed_total=np.bincount(
                            units[seen], weights=weights[seen], minlength=n_units
                        ),
                        observed_sum=np.bincount(
                            units[seen], weights=weights[seen] * values[seen], minlength=n_units
                        ),
                        unit=units[seen],
                        weight=weights[seen],
                        value=values[seen],
                    )
                )
            arranged.append((arms[0], arms[1]))
        return cls(strata=tuple(arranged), stratified=strata is not None)

    @property
    def largest_arm(self) -> int:
        """The most observed rows of one arm in one stratum (the widest matrix of a block)."""
        return max((arm.unit.size for pair in self.strata for arm in pair), default=1)

    def bounds(self, copies: np.ndarray) -> np.ndarray:
        """(draws x 2) lower and upper bounds for (draws x units) copies; NaN where a drawn
        stratum lacks an observed outcome in an arm (as :func:`attrition._bounds`)."""
        draws = copies.shape[0]
        weighted_lower = np.zeros(draws)
        weighted_upper = np.zeros(draws)
        total_mass = np.zeros(draws)
        invalid = np.zeros(draws, dtype=bool)
        for treatment, comparison in self.strata:
            present_t = copies @ treatment.rows > 0
            present_c = copies @ comparison.rows > 0
            drawn = present_t | present_c
            seen_t = copies @ treatment.seen > 0
            seen_c = copies @ comparison.seen > 0
            usable = seen_t & seen_c
            # A drawn stratum without an observed outcome in an arm makes the draw's bounds
            # undefined; a stratum no unit was drawn from is left out.
            invalid |= drawn & ~usable
            with np.errstate(divide="ignore", invalid="ignore"):
                total_t, total_c = copies @ treatment.total, copies @ comparison.total
                observed_t = copies @ treatment.observed_total
                observed_c = copies @ comparison.observed_total
                rate_t, rate_c = observed_t / total_t, observed_c / total_c
                mean_t = (copies @ treatment.observed_sum) / observed_t
                mean_c = (copies @ comparison.observed_sum) / observed_c
            trims_t = usable & (rate_t >= rate_c)
            trims_c = usable & ~(rate_t >= rate_c)
            lower = np.full(draws, np.nan)
            upper = np.full(draws, np.nan)
            if trims_t.any():
                keep = 1 - (rate_t[trims_t] - rate_c[trims_t]) / rate_t[trims_t]
                bottom, top = _trimmed_means(copies[trims_t], treatment, keep)
                lower[trims_t] = bottom - mean_c[trims_t]
                upper[trims_t] = top - mean_c[trims_t]
            if trims_c.any():
                keep = 1 - (rate_c[trims_c] - rate_t[trims_c]) / rate_c[trims_c]
                bottom, top = _trimmed_means(copies[trims_c], comparison, keep)
                lower[trims_c] = mean_t[trims_c] - top
                upper[trims_c] = mean_t[trims_c] - bottom
            if not self.stratified:
                return np.column_stack([lower, upper])
            # Each stratum counts by its estimated always-observed: its size times the lower
            # of its arms' follow-up rates (Lee 2009, section 4).
            mass = np.where(usable, (total_t + total_c) * np.fmin(rate_t, rate_c), 0.0)
            weighted_lower += np.where(usable, lower * mass, 0.0)
            weighted_upper += np.where(usable, upper * mass, 0.0)
            total_mass += mass
        with np.errstate(divide="ignore", invalid="ignore"):
            result = np.column_stack([weighted_lower / total_mass, weighted_upper / total_mass])
        result[invalid] = np.nan
        return result


def _trimmed_means(
    copies: np.ndarray, arm: _ArmRows, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the lowest and of the highest share ``keep`` of the arm's drawn weight, per
    draw; the boundary row contributes the fraction of its weight that reaches the share."""
    # Rows x draws in C order, which is the memory layout of ``copies[:, arm.unit]`` (F
    # order), so the sums and the product over rows below (as ``.T`` views) see the layout
    # they always saw and add in the same order: the means are bit for bit those of
    # ``np.clip(target - (np.cumsum(mass, axis=1) - mass), 0, mass)``. One buffer serves
    # both sides, updated in place, instead of six fresh (draws x rows) arrays a side.
    mass = np.ascontiguousarray(copies.T)[arm.unit]
    mass *= arm.weight[:, None]
    target = keep * mass.T.sum(axis=1)
    taken = np.empty_like(mass)
    means = []
    for from_top in (False, True):
        if from_top:
            np.cumsum(mass[::-1], axis=0, out=taken[::-1])
        else:
            np.cumsum(mass, axis=0, out=taken)
        # The weight before each row, then what of its own weight the share still takes.
        taken -= mass
        np.subtract(target, taken, out=taken)
        np.maximum(taken, 0.0, out=taken)
        np.minimum(taken, mass, out=taken)
        means.append((taken.T @ arm.value) / taken.T.sum(axis=1))
    return means[0], means[1]


def block_draws(layout: DrawLayout, callback_every: int) -> int:
    """Draws per block: a divisor of ``callback_every`` whose matrices stay within
    :data:`BLOCK_CELLS` cells (so progress is still reported every ``callback_every``)."""
    for size in sorted(
        (d for d in range(1, callback_every + 1) if callback_every % d == 0), reverse=True
    ):
        if size * layout.largest_arm <= BLOCK_CELLS:
            return size
    return 1
