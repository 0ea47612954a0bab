"""The report's plots: matplotlib figures rendered to inline SVG, Okabe-Ito colours.

Every plot function takes rows that already passed the minimum cell rule; none reads the
warehouse itself. Colours come from the Okabe-Ito palette (safe for colour-blind readers) and
every series also differs by marker, so the plots read in grey print too.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
ARM_STYLE = {
    "campaign": (OKABE_ITO["blue"], "o"),
    "comparison": (OKABE_ITO["orange"], "s"),
    "everyone": (OKABE_ITO["green"], "D"),
}
WAVE_COLOURS = [OKABE_ITO[name] for name in ("sky_blue", "blue", "vermillion", "purple")]


def _svg(figure: Figure, title: str) -> str:
    buffer = io.StringIO()
    # Text kept as text (small, searchable SVG) and ids deterministic across runs.
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "trustshift"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    # An accessible name for the image; the table beside each plot holds the numbers.
    return re.sub(r"<svg ", f'<svg role="img" aria-label="{title}" ', text, count=1)


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(8.0, height), dpi=96)
    figure.set_layout_engine("constrained")
    return figure


def _outside_legend(figure: Figure, axes: Axes, columns: int = 3) -> None:
    """The legend below the plot area, so that no marker or interval is hidden behind it."""
    handles, labels = axes.get_legend_handles_labels()
    if handles:
        figure.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(columns, len(handles)),
            fontsize="small",
            frameon=False,
        )


def forest_plot(effects: pd.DataFrame) -> str:
    """The forest plot (``forest_figure``) as inline SVG."""
    return _svg(forest_figure(effects), "Forest plot of standardized effects by family")


def forest_figure(effects: pd.DataFrame) -> Figure:
    """Standardized effects with their intervals, in one block per family.

    Columns: label, family, standardized_effect, standardized_low, standardized_high. Rows are
    drawn in the order given within each family (families in order of first appearance); each
    block opens with its family's name, and the legend sits below the plot area.
    """
    rows = effects.reset_index(drop=True)
    families = list(dict.fromkeys(rows["family"].astype(str)))
    # One line per effect plus one per family heading.
    n_lines = len(rows) + len(families)
    figure = _figure(max(2.4, 0.22 * n_lines + 1.4))
    axes = figure.add_subplot()
    # Yellow is too pale for thin lines on white; the other seven Okabe-Ito colours remain.
    palette = [colour for name, colour in OKABE_ITO.items() if name != "yellow"]
    markers = ["o", "s", "D", "^", "v", "P", "X", "*"]
    ticks: list[float] = []
    tick_labels: list[str] = []
    headings: list[float] = []
    line = n_lines - 1
    for number, family in enumerate(families):
        headings.append(line)
        ticks.append(line)
        tick_labels.append(family)
        line -= 1
        part = rows[rows["family"].astype(str) == family]
        positions = np.arange(line, line - len(part), -1, dtype=float)
        line -= len(part)
        colour = palette[number % len(palette)]
        axes.errorbar(
            part["standardized_effect"],
            positions,
            xerr=[
                part["standardized_effect"] - part["standardized_low"],
                part["standardized_high"] - part["standardized_effect"],
            ],
            fmt=markers[number % len(markers)],
            color=colour,
            ecolor=colour,
            capsize=3,
            label=family,
        )
        ticks.extend(positions.tolist())
        tick_labels.extend(_wrap(str(label), 40) for label in part["label"])
    axes.axvline(0, color=OKABE_ITO["black"], linewidth=0.8)
    axes.set_yticks(ticks, tick_labels)
    for tick, value in zip(axes.get_yticklabels(), ticks, strict=True):
        if value in headings:
            tick.set_fontweight("bold")
    axes.set_ylim(-0.7, n_lines - 0.3)
    axes.set_xlabel("Effect in SD of the comparison arm at baseline, with its 95% interval")
    axes.grid(axis="x", color="#dddddd")
    _outside_legend(figure, axes, columns=4)
    return figure


def trust_plot(trust: pd.DataFrame) -> str:
    """Mean trust per source on the 1-5 scale, by wave (marker fill) and arm (colour, marker).

    Columns: label, wave, arm, mean, source_order, wave_order. Only levels: a difference
    between sources (the official-minus-informal gap) belongs on its own axis.
    """
    sources = trust.sort_values("source_order")["label"].drop_duplicates().tolist()
    figure = _figure(max(2.6, 0.28 * len(sources) + 1.6))
    axes = figure.add_subplot()
    positions = {label: k for k, label in enumerate(reversed(sources))}
    waves = trust.sort_values("wave_order")["wave"].drop_duplicates().tolist()
    arms = [arm for arm in ARM_STYLE if arm in set(trust["arm"])]
    offsets = np.linspace(-0.25, 0.25, max(1, len(arms) * len(waves)))
    slot = 0
    for arm in arms:
        colour, marker = ARM_STYLE[arm]
        for number, wave in enumerate(waves):
            part = trust[(trust["arm"] == arm) & (trust["wave"] == wave)]
            if part.empty:
                slot += 1
                continue
            y = [positions[label] + offsets[slot] for label in part["label"]]
            filled = number == len(waves) - 1
            axes.scatter(
                part["mean"],
                y,
                marker=marker,
                s=30,
                facecolors=colour if filled else "white",
                edgecolors=colour,
                label=f"{arm}, {wave}",
            )
            slot += 1
    axes.set_yticks(list(positions.values()), [_wrap(str(k), 40) for k in positions])
    axes.set_xlim(1, 5)
    axes.set_xticks([1, 2, 3, 4, 5], ["1 not at all", "2", "3", "4", "5 completely"])
    axes.set_xlabel("Mean trust")
    axes.grid(axis="x", color="#dddddd")
    _outside_legend(figure, axes)
    return _svg(figure, "Mean trust in each source by wave and arm")


def trust_shift_plot(shifts: pd.DataFrame) -> str:
    """The campaign's effect on trust in each source, with the primary interval.

    Columns: label, estimate, conf_low, conf_high (in points of the trust scale), in the
    order to draw them from the top.
    """
    rows = shifts.reset_index(drop=True)
    figure = _figure(max(2.0, 0.22 * len(rows) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(rows))[::-1].astype(float)
    colour = OKABE_ITO["blue"]
    axes.errorbar(
        rows["estimate"],
        positions,
        xerr=[rows["estimate"] - rows["conf_low"], rows["conf_high"] - rows["estimate"]],
        fmt="o",
        color=colour,
        ecolor=colour,
        capsize=3,
    )
    axes.axvline(0, color=OKABE_ITO["black"], linewidth=0.8)
    axes.set_yticks(positions, [_wrap(str(label), 40) for label in rows["label"]])
    axes.set_ylim(-0.7, len(rows) - 0.3)
    axes.set_xlabel("Effect on mean trust (points on the 1-5 scale), with its 95% interval")
    axes.grid(axis="x", color="#dddddd")
    return _svg(figure, "Effect of the campaign on trust in each source")


def cascade_plot(cascade: pd.DataFrame) -> str:
    """Share at each step of the intention cascade, bars by wave and arm, one panel per base.

    Columns: label, step_order, wave, wave_order, arm, share, n_obs, base. Steps asked of
    everyone and steps asked only of some respondents (``base`` says whom) are drawn in
    separate panels, each titled with its base and every bar labelled with its respondents.
    """
    groups = [
        (str(wave), str(arm))
        for wave, arm in cascade.sort_values(["wave_order", "arm"])[["wave", "arm"]]
        .drop_duplicates()
        .itertuples(index=False)
    ]
    wave_names = list(dict.fromkeys(group[0] for group in groups))
    bases = list(dict.fromkeys(cascade.sort_values("step_order")["base"].astype(str)))
    steps_of = {
        base: cascade[cascade["base"].astype(str) == base]
        .sort_values("step_order")["label"]
        .drop_duplicates()
        .tolist()
        for base in bases
    }
    bar_height = 0.8 / max(1, len(groups))
    heights = [max(1.0, len(steps_of[base]) * len(groups) * 0.095 + 0.5) for base in bases]
    figure = _figure(sum(heights) + 1.1)
    panels = figure.subplots(len(bases), 1, sharex=True, height_ratios=heights, squeeze=False)
    hatches = ["", "//", "..", "xx"]
    for panel, base in zip(panels[:, 0], bases, strict=True):
        steps = steps_of[base]
        part_of_base = cascade[cascade["base"].astype(str) == base]
        index = {label: len(steps) - 1 - k for k, label in enumerate(steps)}
        for number, (wave, arm) in enumerate(groups):
            part = part_of_base[(part_of_base["wave"] == wave) & (part_of_base["arm"] == arm)]
            if part.empty:
                continue
            y = [index[label] - 0.4 + bar_height * (number + 0.5) for label in part["label"]]
            colour, _ = ARM_STYLE.get(arm, (OKABE_ITO["green"], "o"))
            shares = 100 * part["share"].astype(float)
            panel.barh(
                y,
                shares,
                height=bar_height,
                color=colour,
                hatch=hatches[wave_names.index(wave) % len(hatches)],
                edgecolor="white",
                label=f"{arm}, {wave}",
            )
            for value, position, n_obs in zip(shares, y, part["n_obs"], strict=True):
                panel.annotate(
                    f"{value:.0f}% of {int(n_obs)}",
                    (value, position),
                    xytext=(3, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=6.5,
                )
        panel.set_yticks(range(len(steps)), [_wrap(str(label), 44) for label in reversed(steps)])
        panel.set_title(f"Base: {base}", loc="left", fontsize="medium")
        panel.set_xlim(0, 112)
        panel.grid(axis="x", color="#dddddd")
    last = panels[-1, 0]
    last.set_xticks([0, 20, 40, 60, 80, 100])
    last.set_xlabel("Share of the base (%)")
    _outside_legend(figure, panels[0, 0], columns=4)
    return _svg(figure, "Intention cascade by wave and arm")


def risk_plot(beliefs: pd.DataFrame) -> str:
    """Mean belief against the true value of each risk.

    Columns: item, label, true_value, wave, wave_order, arm, mean.
    """
    items = beliefs["item"].drop_duplicates().tolist()
    figure = _figure(max(2.6, 0.45 * len(items) + 1.5))
    axes = figure.add_subplot()
    positions = {item: len(items) - 1 - k for k, item in enumerate(items)}
    truths = beliefs.drop_duplicates("item")
    axes.scatter(
        truths["true_value"],
        [positions[item] for item in truths["item"]],
        marker="|",
        s=400,
        color=OKABE_ITO["black"],
        label="true value",
    )
    groups = beliefs.sort_values(["wave_order", "arm"])[["wave", "arm"]].drop_duplicates()
    waves = beliefs.sort_values("wave_order")["wave"].drop_duplicates().tolist()
    offsets = np.linspace(-0.25, 0.25, max(1, len(groups)))
    for number, (wave, arm) in enumerate(groups.itertuples(index=False)):
        part = beliefs[(beliefs["wave"] == wave) & (beliefs["arm"] == arm)]
        colour, marker = ARM_STYLE.get(arm, (OKABE_ITO["green"], "o"))
        filled = wave == waves[-1]
        axes.scatter(
            part["mean"],
            [positions[item] + offsets[number] for item in part["item"]],
            marker=marker,
            s=30,
            facecolors=colour if filled else "white",
            edgecolors=colour,
            label=f"{arm}, {wave}",
        )
    axes.set_yticks(list(positions.values()), [_short_risk(item) for item in positions])
    axes.set_xlabel('Mean answer to "out of 100 people like you..."')
    axes.set_xlim(0, 100)
    axes.grid(axis="x", color="#dddddd")
    _outside_legend(figure, axes, columns=4)
    return _svg(figure, "Risk beliefs against the true values")


def _wrap(text: str, width: int = 48) -> str:
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    return (
        text[: cut if cut > 0 else width]
        + "\n"
        + _wrap(text[(cut if cut > 0 else width) :].strip(), width)
    )


def _short_risk(item: str) -> str:
    return item.removeprefix("risk_").replace("_", " ")
