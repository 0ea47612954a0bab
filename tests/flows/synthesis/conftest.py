"""Synthesis files and exported estimate tables written in a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

# Three partner studies' exported estimates, as `trustshift report` writes them (only the
# columns a synthesis reads, plus the primary-inference columns of the shared contract).
PARTNER_ROWS = {
    "dakar": [
        # outcome, estimator, wave, estimate, std_error, standardized, n_obs, primary cols
        ("trust_official", "ancova", "endline", 0.10, 0.05, 0.11, 800, None),
        ("irregular_intention", "ancova", "endline", -0.08, 0.03, -0.16, 800, None),
        ("irregular_intention", "ordered_logit", "endline", -0.40, 0.10, None, 800, None),
    ],
    "conakry": [
        ("trust_official", "ancova", "endline", 0.02, 0.06, 0.03, 600, (0.20, -0.10, 0.14)),
        ("irregular_intention", "ancova", "endline", -0.05, 0.04, -0.09, 600, (0.30, -0.15, 0.05)),
        ("irregular_intention", "ancova", "follow_up", -0.04, 0.04, -0.07, 550, None),
    ],
    "banjul": [
        ("trust_gov", "did", "endline", 0.05, 0.05, 0.06, 500, None),
        ("irregular_intention", "did", "endline", -0.10, 0.05, -0.18, 500, None),
    ],
}


def estimates_table(rows: list[tuple]) -> pd.DataFrame:
    records = []
    for outcome, estimator, wave, estimate, se, standardized, n, primary in rows:
        record = {
            "outcome": outcome,
            "estimator": estimator,
            "wave": wave,
            "term": "treated",
            "estimate": estimate,
            "std_error": se,
            "standardized_effect": standardized,
            "n_obs": n,
            "n_clusters": 40,
            "n_smallest_cell": n // 4,
            "p_value_primary": None if primary is None else primary[0],
            "conf_low_primary": None if primary is None else primary[1],
            "conf_high_primary": None if primary is None else primary[2],
            "primary_inference": "cr1" if primary is None else "wild_bootstrap",
        }
        records.append(record)
    return pd.DataFrame(records)


SYNTHESIS_FILE = """
id = "west_africa"
title = "Town halls and radio in West Africa"
moderators = ["messenger"]

[[outcomes]]
name = "trust_official"
sesoi = 0.2

[[outcomes]]
name = "irregular_intention"
sesoi = 0.1

[[studies]]
id = "dakar"
estimates = "shared/dakar.csv"
region = "West Africa"
campaign_type = "town hall"
messenger = "returnee"

[[studies]]
id = "conakry"
estimates = "shared/conakry.parquet"
region = "West Africa"
campaign_type = "radio"
messenger = "government"
all_waves = true

[[studies]]
id = "banjul"
estimates = "shared/banjul.csv"
region = "West Africa"
campaign_type = "town hall"
messenger = "iom"
design = "quasi_experimental"
outcomes = { trust_gov = "trust_official" }

[[assumptions]]
number = 2
name = "Credibility"
claim = "people believe official messages"
headline = { outcome = "trust_official", direction = "higher" }
"""


@pytest.fixture
def partner_synthesis(tmp_path: Path) -> Callable[..., Path]:
    """Write the partner studies' exports and a synthesis file; return the file's path."""

    def make(text: str = SYNTHESIS_FILE) -> Path:
        shared = tmp_path / "shared"
        shared.mkdir(exist_ok=True)
        for study, rows in PARTNER_ROWS.items():
            table = estimates_table(rows)
            if study == "conakry":
                table.to_parquet(shared / f"{study}.parquet", index=False)
            else:
                table.to_csv(shared / f"{study}.csv", index=False)
        path = tmp_path / "synthesis.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return make
