"""Write the acceptance data sets' second formats (and Card & Krueger's waves) from the CSVs.

Run from the repository root after ``Rscript make_data.R`` (in this folder):
``.venv/bin/python tests/acceptance/data/make_formats.py``. Each wave is written once as CSV
and once as Stata, SPSS or XLSX, with pandas and pyreadstat; the values are the same.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat

HERE = Path(__file__).resolve().parent

# Card & Krueger's public.dat, columns as in its codebook (1-based start, end).
CARD_KRUEGER_COLUMNS = {
    "sheet": (1, 3), "chain": (5, 5), "co_owned": (7, 7), "state": (9, 9),
    "empft": (26, 30), "emppt": (32, 36), "nmgrs": (38, 42), "wage_st": (44, 48),
    "status2": (110, 110), "empft2": (122, 126), "emppt2": (128, 132),
    "nmgrs2": (134, 138), "wage_st2": (140, 144), "special2": (158, 158),
}  # fmt: skip


def card_krueger_waves() -> None:
    """One file per interview round; FTE = full-time + managers + half the part-time staff."""
    colspecs = [(start - 1, end) for start, end in CARD_KRUEGER_COLUMNS.values()]
    stores = pd.read_fwf(
        HERE / "card_krueger" / "public.dat",
        colspecs=colspecs,
        names=list(CARD_KRUEGER_COLUMNS),
        na_values=["."],
    )
    stores["state"] = stores["state"].map({1: "NJ", 0: "PA"})
    # Sheet 407 is two stores (a KFC in PA and a Wendy's in NJ): number the stores instead,
    # in the order of public.dat, as the replication files do.
    stores.insert(0, "store_id", range(1, len(stores) + 1))
    first = stores[["store_id", "sheet", "state", "chain", "co_owned"]].assign(
        fte=stores["empft"] + stores["nmgrs"] + 0.5 * stores["emppt"],
        wage_st=stores["wage_st"],
    )
    second = stores[["store_id", "sheet", "state"]].assign(
        fte=stores["empft2"] + stores["nmgrs2"] + 0.5 * stores["emppt2"],
        wage_st=stores["wage_st2"],
        special_program=stores["special2"],
    )
    # Stores refusing the second interview (status2 = 0) were not interviewed again.
    second = second[stores["status2"] != 0]
    first.to_csv(HERE / "card_krueger" / "before.csv", index=False)
    second.to_csv(HERE / "card_krueger" / "after.csv", index=False)
    # New Jersey alone: a pre/post study without a comparison group.
    nj = HERE / "card_krueger_nj"
    first[first["state"] == "NJ"].drop(columns="state").to_csv(nj / "before.csv", index=False)
    second[second["state"] == "NJ"].drop(columns="state").to_csv(nj / "after.csv", index=False)


def second_formats() -> None:
    plans = {
        "achievement_awards": "dta",
        "achievement_awards_arab": "sav",
        "beat_the_blues": "xlsx",
        "card_krueger": "sav",
        "card_krueger_nj": "dta",
    }
    for folder, kind in plans.items():
        for csv in sorted((HERE / folder).glob("*.csv")):
            if csv.with_suffix(f".{kind}").exists():
                continue  # written once (they hold a time stamp): delete them to rewrite
            frame = pd.read_csv(csv)
            target = csv.with_suffix(f".{kind}")
            if kind == "dta":
                frame.to_stata(target, write_index=False, version=118)
            elif kind == "sav":
                pyreadstat.write_sav(frame, str(target))
            else:
                frame.to_excel(target, index=False, sheet_name="data")


if __name__ == "__main__":
    card_krueger_waves()
    second_formats()
