"""How often the scorecard's verdicts are wrong over simulated studies (prints the table).

Run: ``.venv/bin/python bench/scorecard_simulation.py [--simulations 500]``. Three scenarios
(assumption true with a small effect: premise +0.3 SD, headline -0.15 SD; assumption false:
premise +0.3 SD, headline 0; no effect at all) on an under-powered design (40 clusters of 15,
MDE about 0.26 SD) and a well-powered one (200 clusters of 15, MDE about 0.12 SD), the
headline's SESOI 0.1 SD. "wrong" is the share of verdicts the truth makes wrong: contradicted
when the assumption is true; supported when it is false; either when nothing moved. The
earlier rule (a moved premise with a non-significant headline is a contradiction) is shown
beside the current one.
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from flows.report.scorecard_calibration import DESIGNS, SCENARIOS, calibrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=500)
    arguments = parser.parse_args()
    console = Console(width=200)
    started = time.perf_counter()
    total = arguments.simulations * len(DESIGNS) * len(SCENARIOS)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulated studies", total=total)
        table = calibrate(
            simulations=arguments.simulations,
            progress=lambda step: progress.advance(task, step),
        )
    shown = Table(title=f"Scorecard verdicts over {arguments.simulations} studies per row")
    for column in ("design", "scenario", "rule", "supported", "contradicted", "inconclusive",
                   "wrong (which)", "wrong"):  # fmt: skip
        shown.add_column(column)
    for row in table.to_dict("records"):
        shown.add_row(
            row["design"], row["scenario"], row["rule"], f"{row['supported']:.1%}",
            f"{row['contradicted']:.1%}", f"{row['inconclusive']:.1%}", row["wrong_verdicts"],
            f"{row['wrong']:.1%} ± {row['wrong_se']:.1%}",
        )  # fmt: skip
    console.print(shown)
    worst = table.loc[table["rule"] == "this rule", "wrong"].max()
    console.print(
        f"Largest share of wrong verdicts under this rule: {worst:.1%} "
        f"({time.perf_counter() - started:.0f} s)",
        highlight=False,
    )


if __name__ == "__main__":
    main()
