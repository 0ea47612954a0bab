"""The figures of the report: the rows each plot may draw under the minimum cell rule."""

from __future__ import annotations

import pandas as pd

from flows.estimation import COMPARISON, EVERYONE
from flows.report import plots
from flows.report.results import RunResults
from flows.report.suppression import passes


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
    trust_plotted = trust[passes(trust, ["n_obs"], minimum) & trust["arm"].isin(arms_only)]
    if not trust_plotted.empty:
        figures["trust"] = plots.trust_plot(trust_plotted)
    cascade_plotted = cascade[passes(cascade, ["n_obs"], minimum) & cascade["arm"].isin(arms_only)]
    if not cascade_plotted.empty:
        figures["cascade"] = plots.cascade_plot(cascade_plotted)
    beliefs_plotted = beliefs[passes(beliefs, ["n_obs"], minimum) & beliefs["arm"].isin(arms_only)]
    if not beliefs_plotted.empty:
        figures["beliefs"] = plots.risk_plot(beliefs_plotted)
    return figures
