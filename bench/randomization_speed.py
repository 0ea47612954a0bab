"""Randomization inference and the wild bootstrap: time against the number of clusters.

Simulates an individually randomised trial (each respondent its own cluster, four strata, a
baseline covariate) at G = 1,000 and 4,000 and times 9,999 randomization-inference draws
(the coefficient and the studentized statistic) and 9,999 wild-bootstrap draws. Prints the
seconds and the ratio for four times the clusters (target: at most 5, i.e. linear in G).

Run: ``.venv/bin/python bench/randomization_speed.py``
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from measurement.randomization_inference import randomization_inference
from measurement.wild_bootstrap import wild_cluster_bootstrap

DRAWS = 9999


def simulate(clusters: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"respondent": np.arange(clusters)})
    frame["stratum"] = frame["respondent"] % 4
    frame["treated"] = rng.permutation(np.arange(clusters) % 2).astype(float)
    frame["baseline"] = rng.normal(size=clusters)
    frame["outcome"] = 0.1 * frame["treated"] + frame["baseline"] + rng.normal(size=clusters)
    return frame


def time_randomization(frame: pd.DataFrame, statistic: str) -> float:
    start = time.perf_counter()
    randomization_inference(
        frame,
        outcome="outcome",
        regressors=["treated", "baseline"],
        term="treated",
        treated="treated",
        cluster="respondent",
        permuted={"treated": None},
        stratum="stratum",
        fixed_effects=["stratum"],
        draws=DRAWS,
        seed=1,
        statistic=statistic,  # type: ignore[arg-type]
    )
    return time.perf_counter() - start


def time_bootstrap(frame: pd.DataFrame) -> float:
    start = time.perf_counter()
    wild_cluster_bootstrap(
        frame,
        outcome="outcome",
        regressors=["treated", "baseline"],
        term="treated",
        cluster="respondent",
        fixed_effects=["stratum"],
        draws=DRAWS,
        seed=1,
    )
    return time.perf_counter() - start


def main() -> None:
    sizes = (1000, 4000)
    rows = []
    for label, run in (
        ("randomization inference, coefficient", lambda f: time_randomization(f, "coefficient")),
        ("randomization inference, studentized", lambda f: time_randomization(f, "studentized")),
        ("wild cluster bootstrap", time_bootstrap),
    ):
        seconds = [run(simulate(size)) for size in sizes]
        rows.append((label, *seconds, seconds[1] / seconds[0]))
    print(f"{DRAWS} draws, individually randomised trial (one respondent per cluster)")
    print(f"{'method':40s} {'G=1,000 s':>10s} {'G=4,000 s':>10s} {'ratio':>7s}")
    for label, small, large, ratio in rows:
        print(f"{label:40s} {small:10.2f} {large:10.2f} {ratio:7.2f}")
    print("target: ratio at most 5 for 4 times the clusters (linear in G)")


if __name__ == "__main__":
    main()
