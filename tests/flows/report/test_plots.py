"""The report's plots: own axes for levels and effects, bases stated, legends off the data."""

from __future__ import annotations

import re

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from flows.report import plots
from flows.report.figures import trust_shift_rows


def _trust_levels() -> pd.DataFrame:
    rows = []
    for order, label in enumerate(["own government", "family"]):
        for wave_order, wave in enumerate(["baseline", "endline"]):
            for arm, mean in (("campaign", 2.1 + order), ("comparison", 2.0 + order)):
                rows.append(
                    {"label": label, "wave": wave, "arm": arm, "mean": mean + 0.2 * wave_order,
                     "source_order": order, "wave_order": wave_order}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_the_trust_level_plot_runs_on_the_1_to_5_scale_alone() -> None:
    svg = plots.trust_plot(_trust_levels())
    assert "1 not at all" in svg and "5 completely" in svg
    # The x tick labels are 1..5 only: no negative gap squeezes the axis.
    assert not re.search(r">\s*[−-]\d", svg)


def test_the_trust_shift_plot_draws_effects_around_zero_with_their_interval() -> None:
    shifts = pd.DataFrame(
        {"label": ["Official", "Informal"], "estimate": [0.11, -0.06],
         "conf_low": [-0.15, -0.19], "conf_high": [0.38, 0.06]}
    )  # fmt: skip
    svg = plots.trust_shift_plot(shifts)
    assert "Effect on mean trust" in svg
    assert "Official" in svg and "Informal" in svg


def test_trust_shift_rows_read_the_primary_interval_of_the_trust_groups_in_source_order() -> None:
    forest = pd.DataFrame(
        {"outcome": ["risk", "informal", "official"], "label": ["Risk", "Informal", "Official"],
         "estimate": [5.0, -0.06, 0.11], "conf_low": [1.0, -0.2, -0.2],
         "conf_high": [9.0, 0.1, 0.4], "conf_low_primary": [2.0, -0.19, -0.15],
         "conf_high_primary": [8.0, 0.06, 0.38]}
    )  # fmt: skip
    trust = pd.DataFrame(
        {"source_group": ["official", "informal", "gap"], "source_order": [0, 1, 2]}
    )
    rows = trust_shift_rows(forest, trust)
    assert rows["label"].tolist() == ["Official", "Informal"]
    assert rows["conf_low"].tolist() == [-0.15, -0.19]
    assert rows["conf_high"].tolist() == [0.38, 0.06]


def test_the_cascade_draws_each_base_in_its_own_panel_and_labels_every_bar() -> None:
    rows = []
    for order, (label, base, n_obs) in enumerate(
        [("Wish to leave", "all respondents", 250),
         ("Saved money", "those who said yes to: Preparing?", 17)]
    ):  # fmt: skip
        for arm in ("campaign", "comparison"):
            rows.append(
                {"label": label, "step_order": order, "wave": "endline", "wave_order": 1,
                 "arm": arm, "share": 0.4, "n_obs": n_obs, "base": base}
            )  # fmt: skip
    svg = plots.cascade_plot(pd.DataFrame(rows))
    assert "Base: all respondents" in svg
    assert "Base: those who said yes to: Preparing?" in svg
    assert svg.count("40% of 17") == 2 and svg.count("40% of 250") == 2


def test_the_forest_plot_heads_each_family_and_keeps_its_legend_below_the_data() -> None:
    effects = pd.DataFrame(
        {"label": ["Risk A", "Risk B", "Trust A"], "family": ["risk", "risk", "trust"],
         "standardized_effect": [0.4, -0.1, 0.2], "standardized_low": [0.1, -0.3, -0.1],
         "standardized_high": [0.7, 0.1, 0.5]}
    )  # fmt: skip
    figure = plots.forest_figure(effects)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    (axes,) = figure.axes
    headings = [
        tick.get_text() for tick in axes.get_yticklabels() if tick.get_fontweight() == "bold"
    ]
    assert headings == ["risk", "trust"]
    (legend,) = figure.legends
    legend_box = legend.get_window_extent(renderer)
    axes_box = axes.get_window_extent(renderer)
    assert legend_box.y1 <= axes_box.y0  # wholly below the data area
    assert plots.forest_plot(effects).startswith("<svg ")


def test_every_plot_is_an_svg_that_scales_with_its_container() -> None:
    svg = plots.trust_plot(_trust_levels())
    assert svg.startswith("<svg ") and 'viewBox="0 0 ' in svg
