"""The figures of the report: the rows each plot may draw under the minimum cell rule."""

from __future__ import annotations

import pandas as pd

from flows.estimation import COMPARISON, EVERYONE
from flows.report import plots
from flows.report.results import RunResults
from flows.report.suppression import passes

# The trust table's rows that hold a difference between source groups, not a level.
GAP_GROUP = "gap"


def report_figures(results: RunResults, forest: pd.DataFrame) -> dict[str, str]:
    """Inline SVG of each plot that has a publishable row, keyed as the template reads them.

    ``forest`` holds the publishable effects of the main estimator at the primary wave.
    """
    minimum = results.minimum
    trust, cascade, beliefs = results.trust, results.cascade, results.beliefs
    sizes = results.sizes
    arms_only = [EVERYONE] if (sizes["arm"] == EVERYONE).all() else ["campaign", COMPARISON]
    figures: dict[str, str] = {}
    if not forest.empty:
        figures["forest"] = plots.forest_plot(forest)
    publishable_trust = trust[passes(trust, ["n_obs"], minimum) & trust["arm"].isin(arms_only)]
    levels = publishable_trust[publishable_trust["source_group"] != GAP_GROUP]
    if not levels.empty:
        figures["trust"] = plots.trust_plot(levels)
    per_source = results.trust_effects
    per_source = per_source[passes(per_source, ["n_smallest_cell"], minimum)].dropna(
        subset=["estimate", "conf_low_primary", "conf_high_primary"]
    )
    # the effect per source (estimation's trust_source_effects) where the run has it, else
    # the effects on the source groups
    shifts = (
        pd.DataFrame(
            {
                "label": per_source["label"].to_numpy(),
                "estimate": per_source["estimate"].to_numpy(dtype=float),
                "conf_low": per_source["conf_low_primary"].to_numpy(dtype=float),
                "conf_high": per_source["conf_high_primary"].to_numpy(dtype=float),
            }
        )
        if not per_source.empty
        else trust_shift_rows(forest, trust)
    )
    if not shifts.empty:
        figures["trust_shift"] = plots.trust_shift_plot(shifts)
    cascade_plotted = cascade[passes(cascade, ["n_obs"], minimum) & cascade["arm"].isin(arms_only)]
    if not cascade_plotted.empty:
        figures["cascade"] = plots.cascade_plot(cascade_plotted)
    beliefs_plotted = beliefs[passes(beliefs, ["n_obs"], minimum) & beliefs["arm"].isin(arms_only)]
    if not beliefs_plotted.empty:
        figures["beliefs"] = plots.risk_plot(beliefs_plotted)
    return figures


def trust_shift_rows(forest: pd.DataFrame, trust: pd.DataFrame) -> pd.DataFrame:
    """The effects on trust the shift plot draws: the main estimator's rows (``forest``) whose
    outcome is a source group of the trust table, in its order, with the primary interval."""
    if forest.empty or trust.empty:
        return pd.DataFrame(columns=["label", "estimate", "conf_low", "conf_high"])
    order = list(dict.fromkeys(trust.sort_values("source_order")["source_group"].astype(str)))
    rows = forest[forest["outcome"].astype(str).isin(order)]
    low, high = "conf_low_primary", "conf_high_primary"
    rows = rows.dropna(subset=["estimate", low, high])
    rows = rows.assign(position=rows["outcome"].astype(str).map(order.index)).sort_values(
        "position"
    )
    return pd.DataFrame(
        {
            "label": rows["label"].to_numpy(),
            "estimate": rows["estimate"].to_numpy(dtype=float),
            "conf_low": rows[low].to_numpy(dtype=float),
            "conf_high": rows[high].to_numpy(dtype=float),
        }
    )
