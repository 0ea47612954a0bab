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


def forest_plot(effects: pd.DataFrame) -> str:
    """Standardized effects with their intervals, grouped by family.

    Columns: label, family, standardized_effect, standardized_low, standardized_high, group.
    """
    rows = effects.reset_index(drop=True)
    figure = _figure(max(2.0, 0.32 * len(rows) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(rows))[::-1]
    families = list(dict.fromkeys(rows["family"]))
    # Yellow is too pale for thin lines on white; the other seven Okabe-Ito colours remain.
    palette = [colour for name, colour in OKABE_ITO.items() if name != "yellow"]
    markers = ["o", "s", "D", "^", "v", "P", "X", "*"]
    for number, family in enumerate(families):
        chosen = (rows["family"] == family).to_numpy()
        axes.errorbar(
            rows.loc[chosen, "standardized_effect"],
            positions[chosen],
            xerr=[
                rows.loc[chosen, "standardized_effect"] - rows.loc[chosen, "standardized_low"],
                rows.loc[chosen, "standardized_high"] - rows.loc[chosen, "standardized_effect"],
            ],
            fmt=markers[number % len(markers)],
            color=palette[number % len(palette)],
            ecolor=palette[number % len(palette)],
            capsize=3,
            label=family,
        )
    axes.axvline(0, color=OKABE_ITO["black"], linewidth=0.8)
    axes.set_yticks(positions, rows["label"].tolist())
    axes.set_xlabel("Effect in standard deviations of the comparison arm at baseline (95% CI)")
    axes.legend(title="family", loc="best", fontsize="small")
    axes.grid(axis="x", color="#dddddd")
    return _svg(figure, "Forest plot of standardized effects by family")


def trust_plot(trust: pd.DataFrame) -> str:
    """Mean trust per source, by wave (marker fill) and arm (colour, marker).

    Columns: label, wave, arm, mean, source_order, wave_order.
    """
    sources = trust.sort_values("source_order")["label"].drop_duplicates().tolist()
    figure = _figure(max(2.5, 0.38 * len(sources) + 1.4))
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
                s=36,
                facecolors=colour if filled else "white",
                edgecolors=colour,
                label=f"{arm}, {wave}",
            )
            slot += 1
    axes.set_yticks(list(positions.values()), list(positions.keys()))
    axes.set_xlabel("Mean trust (1 = not at all, 5 = completely; gap: the declared difference)")
    axes.grid(axis="x", color="#dddddd")
    axes.legend(fontsize="small", loc="best")
    return _svg(figure, "Trust in each source by wave and arm")


def cascade_plot(cascade: pd.DataFrame) -> str:
    """Share at each step of the intention cascade, bars by wave and arm.

    Columns: label, step_order, wave, wave_order, arm, share.
    """
    steps = cascade.sort_values("step_order")["label"].drop_duplicates().tolist()
    groups = [
        (str(wave), str(arm))
        for wave, arm in cascade.sort_values(["wave_order", "arm"])[["wave", "arm"]]
        .drop_duplicates()
        .itertuples(index=False)
    ]
    figure = _figure(max(2.5, 0.45 * len(steps) + 1.2))
    axes = figure.add_subplot()
    height = 0.8 / max(1, len(groups))
    hatches = ["", "//", "..", "xx"]
    for number, (wave, arm) in enumerate(groups):
        part = cascade[(cascade["wave"] == wave) & (cascade["arm"] == arm)]
        index = {label: len(steps) - 1 - k for k, label in enumerate(steps)}
        y = [index[label] - 0.4 + height * (number + 0.5) for label in part["label"]]
        colour, _ = ARM_STYLE.get(arm, (OKABE_ITO["green"], "o"))
        wave_number = list(dict.fromkeys(g[0] for g in groups)).index(wave)
        axes.barh(
            y,
            100 * part["share"],
            height=height,
            color=colour,
            hatch=hatches[wave_number % len(hatches)],
            edgecolor="white",
            label=f"{arm}, {wave}",
        )
    axes.set_yticks(range(len(steps)), [_wrap(label) for label in reversed(steps)])
    axes.set_xlabel("Share of respondents (%)")
    axes.set_xlim(0, 100)
    axes.legend(fontsize="small", loc="best")
    return _svg(figure, "Intention cascade by wave and arm")


def risk_plot(beliefs: pd.DataFrame) -> str:
    """Mean belief against the true value of each risk.

    Columns: item, label, true_value, wave, wave_order, arm, mean.
    """
    items = beliefs["item"].drop_duplicates().tolist()
    figure = _figure(max(2.5, 0.5 * len(items) + 1.2))
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
            s=36,
            facecolors=colour if filled else "white",
            edgecolors=colour,
            label=f"{arm}, {wave}",
        )
    axes.set_yticks(list(positions.values()), [_short_risk(item) for item in positions])
    axes.set_xlabel('Mean answer to "out of 100 people like you..."')
    axes.set_xlim(0, 100)
    axes.grid(axis="x", color="#dddddd")
    axes.legend(fontsize="small", loc="best")
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
