"""The checks of `trustshift validate` done with plain pandas on a study's CSV waves (no GX,
no warehouse): the reference for the validation stage's ratio in bench/scale.py.

Run: .venv/bin/python bench/validation_plain.py <study.toml>

Per wave: read the CSV (role columns and items only), then quarantine a row when a role is
missing, its submission or respondent id repeats, an item lies outside the instrument's codes
or range (missing codes set aside), the interview is shorter than the speeder threshold, or
(later waves) its arm, cluster or stratum differs from the respondent's latest earlier
interview. Prints the seconds and the number of quarantined rows per wave.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from flows.study import load_study  # noqa: E402


def main() -> None:
    study = load_study(sys.argv[1])
    instrument = study.resolved_instrument()
    columns = study.columns
    codes = [code for group in study.special_codes().values() for code in group]
    roles = {
        "respondent": columns.respondent,
        "submission": columns.submission,
        "cluster": columns.cluster,
        "stratum": columns.stratum,
        "arm": columns.arm.column,
        "enumerator": columns.enumerator,
        "start": columns.interview_start,
        "end": columns.interview_end,
    }
    items = [item for item in instrument.items if item.scale != "text"]
    earlier: list[pd.DataFrame] = []
    started = time.perf_counter()
    for wave in study.wave_names:
        began = time.perf_counter()
        path = study.root / study.locations.inbox / f"{wave}.csv"
        header = pd.read_csv(path, nrows=0).columns
        wanted = [name for item in items for name in item.stored_names() if name in header]
        frame = pd.read_csv(path, usecols=[*roles.values(), *wanted], engine="c")
        bad = np.zeros(len(frame), dtype=bool)
        for role in ("respondent", "submission", "cluster", "arm", "enumerator"):
            bad |= frame[roles[role]].isna().to_numpy()
        bad |= frame[roles["submission"]].duplicated().to_numpy()
        bad |= frame[roles["respondent"]].duplicated().to_numpy()
        for item in items:
            for name in item.stored_names():
                if name not in frame.columns:
                    continue
                values = pd.to_numeric(frame[name], errors="coerce")
                values = values.mask(values.isin(codes))
                labels = getattr(item, "labels", None)
                if labels:
                    allowed = [float(code) for code in labels]
                    bad |= (values.notna() & ~values.isin(allowed)).to_numpy()
                low, high = getattr(item, "minimum", None), getattr(item, "maximum", None)
                if low is not None:
                    bad |= (values < low).to_numpy()
                if high is not None:
                    bad |= (values > high).to_numpy()
        minutes = (
            pd.to_datetime(frame[roles["end"]]) - pd.to_datetime(frame[roles["start"]])
        ).dt.total_seconds() / 60
        bad |= (minutes < max(10.0, 0.5 * minutes.median())).to_numpy()
        kept = [roles["respondent"], roles["arm"], roles["cluster"], roles["stratum"]]
        if earlier:
            latest = pd.concat(earlier).drop_duplicates(roles["respondent"], keep="last")
            merged = frame[kept].merge(
                latest, on=roles["respondent"], how="left", suffixes=("", "_before")
            )
            for role in ("arm", "cluster", "stratum"):
                before = merged[f"{roles[role]}_before"]
                bad |= (before.notna() & (before != merged[roles[role]])).to_numpy()
        earlier.append(frame[kept])
        print(f"{wave}: {time.perf_counter() - began:.1f} s, {int(bad.sum())} rows quarantined")
    print(f"plain pandas validation: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
