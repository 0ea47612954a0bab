"""Size and coverage of the effect estimators on simulated studies (prints the figures).

Run: ``.venv/bin/python bench/inference_size.py``. Reports (1) 95% interval coverage of a
planted effect for ANCOVA and difference-in-differences over 1,000 simulated stratified
cluster-randomised panels with 40 clusters, and (2) with 10 clusters (5 treated), the share of
true nulls rejected at 5% by the wild cluster restricted bootstrap (Webb weights, B = 999, and
Rademacher with all 1,024 sign vectors), by CR1 with normal critical values and by CR1 with
t(G-1), over 2,000 studies.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from measurement.effects import estimate_ancova, estimate_did
from measurement.errors import FewClustersWarning
from measurement.wild_bootstrap import wild_cluster_bootstrap


def panel(seed: int, clusters: int = 40, per_cluster: int = 10, effect: float = 0.3):
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(clusters), per_cluster)
    stratum = cluster % 4
    assignment = np.zeros(clusters)
    for s in range(4):
        members = np.flatnonzero(np.arange(clusters) % 4 == s)
        assignment[rng.permutation(members)[: members.size // 2]] = 1.0
    treated = assignment[cluster]
    community = rng.normal(scale=0.5, size=clusters)[cluster]
    person = rng.normal(size=cluster.size)
    baseline = 0.2 * stratum + community + person + rng.normal(scale=0.7, size=cluster.size)
    follow = (
        0.2 * stratum + community + person + effect * treated
        + rng.normal(scale=0.5, size=clusters)[cluster]
        + rng.normal(scale=0.7, size=cluster.size)
    )  # fmt: skip
    frame = pd.DataFrame(
        {"cluster": cluster, "stratum": stratum, "treated": treated, "baseline": baseline,
         "outcome": follow}
    )  # fmt: skip
    long = pd.concat(
        [frame.assign(post=0.0, value=baseline), frame.assign(post=1.0, value=follow)],
        ignore_index=True,
    )
    return frame, long


def coverage(studies: int = 1000) -> None:
    hits = {"ancova": 0, "did": 0}
    for seed in range(studies):
        frame, long = panel(10_000 + seed)
        a = estimate_ancova(frame, outcome="outcome", treated="treated", baseline="baseline",
                            cluster="cluster", stratum="stratum")  # fmt: skip
        d = estimate_did(long, outcome="value", treated="treated", post="post",
                         cluster="cluster", stratum="stratum")  # fmt: skip
        hits["ancova"] += a.conf_low <= 0.3 <= a.conf_high
        hits["did"] += d.conf_low <= 0.3 <= d.conf_high
    for name, count in hits.items():
        print(f"  {name:<7} coverage of the 95% CR1 t(G-1) interval: {count / studies:.3f} "
              f"({studies} studies, 40 clusters)")  # fmt: skip


def size(studies: int = 2000, clusters: int = 10) -> None:
    rejected = {"wcr_webb": 0, "wcr_rademacher_enumerated": 0, "cr1_normal": 0, "cr1_t": 0}
    for seed in range(studies):
        rng = np.random.default_rng(50_000 + seed)
        frame = pd.DataFrame({"cluster": np.repeat(np.arange(clusters), 30)})
        frame["treated"] = (frame["cluster"] < clusters // 2).astype(float)
        frame["outcome"] = rng.normal(size=clusters)[frame["cluster"]] + rng.normal(size=len(frame))
        common = dict(outcome="outcome", regressors=["treated"], term="treated",
                      cluster="cluster")  # fmt: skip
        webb = wild_cluster_bootstrap(frame, **common, draws=999, seed=seed)
        rademacher = wild_cluster_bootstrap(frame, **common, weights="rademacher")
        rejected["wcr_webb"] += webb.p_value < 0.05
        rejected["wcr_rademacher_enumerated"] += rademacher.p_value < 0.05
        rejected["cr1_normal"] += 2 * stats.norm.sf(abs(webb.statistic)) < 0.05
        rejected["cr1_t"] += 2 * stats.t.sf(abs(webb.statistic), clusters - 1) < 0.05
    for name, count in rejected.items():
        print(f"  {name:<27} rejects a true null at 5%: {count / studies:.3f} "
              f"({studies} studies, {clusters} clusters)")  # fmt: skip


if __name__ == "__main__":
    warnings.simplefilter("ignore", FewClustersWarning)
    start = time.perf_counter()
    print("Coverage of a planted effect (0.3)")
    coverage()
    print("Size with few clusters")
    size()
    print(f"({time.perf_counter() - start:.0f} s)")
