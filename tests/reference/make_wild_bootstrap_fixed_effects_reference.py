"""Produce tests/reference/wild_bootstrap_fixed_effects_reference.json with pyfixest.

Run from the repository root:
``.venv/bin/python tests/reference/make_wild_bootstrap_fixed_effects_reference.py``.
Writes a data set with 12 clusters, stratum fixed effects and enumerator fixed effects that
are not nested in the clusters (wild_bootstrap_fixed_effects_data.csv), and pyfixest's
wild cluster restricted bootstrap p-value (wildboottest(), Rademacher weights, all 2^12 sign
vectors, which pyfixest enumerates when 2^G <= reps). pyfixest counts |t*| strictly above
|t|; under enumeration the sign vectors +1 and -1 reproduce |t| and whether they count
there depends on rounding; trustshift counts them (ties are exceedances), so its p-value
equals pyfixest's or exceeds it by 2 / 4096.
"""

from __future__ import annotations

import json
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest

HERE = Path(__file__).parent


def simulate() -> pd.DataFrame:
    rng = np.random.default_rng(20261203)
    clusters, per_cluster = 12, 25
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), per_cluster)})
    frame["stratum"] = frame["cluster"] % 3
    frame["treated"] = ((frame["cluster"] // 3) % 2).astype(float)
    frame["enumerator"] = rng.integers(0, 5, size=len(frame))
    frame["x"] = rng.normal(size=len(frame)).round(6)
    shock = rng.normal(size=clusters)[frame["cluster"]]
    frame["outcome"] = (
        0.3 * frame["treated"]
        + frame["x"]
        + frame["stratum"]
        + 0.7 * frame["enumerator"]
        + shock
        + rng.normal(size=len(frame))
    ).round(6)
    return frame


def main() -> None:
    frame = simulate()
    path = HERE / "wild_bootstrap_fixed_effects_data.csv"
    frame.to_csv(path, index=False)
    frame = pd.read_csv(path)
    with warnings.catch_warnings():
        # pyfixest and wildboottest emit deprecation and performance notices here; the
        # numbers are what this script stores.
        warnings.simplefilter("ignore")
        fit = pyfixest.feols(
            "outcome ~ treated + x | stratum + enumerator", data=frame, vcov={"CRV1": "cluster"}
        )
        boot = fit.wildboottest(param="treated", reps=9999, cluster="cluster", seed=1)
    out = {
        "versions": {name: version(name) for name in ("pyfixest", "wildboottest", "numpy")},
        "draws": 4096,
        "p_value_pyfixest": float(boot["Pr(>|t|)"]),
        "t_statistic_pyfixest": float(boot["t value"]),
        "tolerance": {"p_value_absolute": 1e-12},
    }
    (HERE / "wild_bootstrap_fixed_effects_reference.json").write_text(
        json.dumps(out, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
