"""The synthesis report's plots: forest plots per outcome and funnel plots, as inline SVG.

Each plot takes rows of the synthesis tables (the numbers are columns there); the SVG rules
(text kept as text, deterministic ids, no metadata) are the study report's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.report.plots import OKABE_ITO, _figure, _svg


def forest_plot(studies: pd.DataFrame, pooled: pd.Series, *, title: str) -> str:
    """One outcome: each estimate with its interval, the pooled diamond and prediction bar.

    ``studies`` columns: label, estimate, conf_low, conf_high; ``pooled`` the outcome's row
    of the pooled table.
    """
    rows = studies.reset_index(drop=True)
    figure = _figure(max(2.2, 0.3 * (len(rows) + 2) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(rows))[::-1] + 2
    axes.errorbar(
        rows["estimate"],
        positions,
        xerr=[rows["estimate"] - rows["conf_low"], rows["conf_high"] - rows["estimate"]],
        fmt="s",
        color=OKABE_ITO["blue"],
        ecolor=OKABE_ITO["blue"],
        capsize=2,
        markersize=4,
        label="study estimate (95% CI)",
    )
    centre = float(pooled["estimate"])
    low, high = float(pooled["conf_low"]), float(pooled["conf_high"])
    axes.fill(
        [low, centre, high, centre],
        [0.6, 0.85, 0.6, 0.35],
        color=OKABE_ITO["vermillion"],
        label=f"pooled: {pooled['model']}",
    )
    prediction_low, prediction_high = pooled["prediction_low"], pooled["prediction_high"]
    if pd.notna(prediction_low) and pd.notna(prediction_high):
        axes.hlines(
            0.0,
            float(prediction_low),
            float(prediction_high),
            color=OKABE_ITO["purple"],
            linewidth=2.5,
            label="95% prediction interval",
        )
    axes.axvline(0, color=OKABE_ITO["black"], linewidth=0.8)
    labels = ["prediction", "pooled", *rows["label"].tolist()[::-1]]
    axes.set_yticks([0.0, 0.6, *positions[::-1].tolist()], labels)
    axes.set_xlabel("Effect in standard deviations of the comparison arm at baseline")
    axes.grid(axis="x", color="#dddddd")
    # Below the axes: inside, the legend would cover the pooled diamond or a study.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize="small")
    return _svg(figure, title)


def funnel_plot(points: pd.DataFrame, *, title: str) -> str:
    """Estimates against their standard errors, with the region expected without bias.

    ``points`` columns: estimate, std_error, expected_low, expected_high, pooled.
    """
    figure = _figure(3.2)
    axes = figure.add_subplot()
    ordered = points.sort_values("std_error")
    top = float(ordered["std_error"].max()) * 1.1
    centre = float(ordered["pooled"].iloc[0])
    z = (float(ordered["expected_high"].iloc[0]) - centre) / float(ordered["std_error"].iloc[0])
    axes.plot(
        [centre - z * top, centre, centre + z * top],
        [top, 0, top],
        color=OKABE_ITO["black"],
        linestyle="--",
        linewidth=0.8,
        label="pooled ± 1.96 SE",
    )
    axes.axvline(centre, color=OKABE_ITO["vermillion"], linewidth=1.0, label="pooled")
    axes.scatter(
        ordered["estimate"], ordered["std_error"], color=OKABE_ITO["blue"], marker="o", s=22
    )
    axes.set_ylim(top, 0)
    axes.set_ylabel("Standard error")
    axes.set_xlabel("Effect (SD)")
    axes.legend(loc="best", fontsize="small")
    return _svg(figure, title)
