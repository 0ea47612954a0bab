"""The work of `trustshift ingest` done with the plain libraries, to compare its time against.

Run: .venv/bin/python bench/ingest_plain.py STUDY_FILE [--out FOLDER]

Per wave file of the study's inbox, in one process: pandas ``read_csv`` of every column
(whole, pandas' type inference), every instrument item as numbers with the study's missing
codes set aside (the value where answered, the code kept beside it), HMAC-SHA256 of the id
columns (respondent and submission) with :mod:`hmac` per distinct id, and ``to_parquet`` of
the coded wave. No checks, no long form, no warehouse: what an analyst's script would do.
Prints seconds per wave and in total; :func:`ingest_like_plain` is importable by other
benchmarks (``bench/scale.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.study import load_study  # noqa: E402

BENCH_KEY = b"plain-library benchmark key, not a secret"


def ingest_like_plain(study_file: Path, out: Path) -> dict[str, float]:
    """Seconds per wave file for the plain-library equivalent of ingesting it."""
    study = load_study(study_file)
    instrument = study.resolved_instrument()
    items = [stored for item in instrument.items for stored in item.stored_names()]
    special = [float(code) for codes in study.special_codes().values() for code in codes]
    id_columns = [
        name for name in (study.columns.respondent, study.columns.submission) if name is not None
    ]
    seconds: dict[str, float] = {}
    for path in sorted(study.inbox.glob("*.csv")):
        started = time.perf_counter()
        frame = pd.read_csv(path)
        coded: dict[str, object] = {}
        for column in id_columns:
            if column in frame.columns:
                ids = frame[column].astype("string")
                positions, uniques = pd.factorize(ids)
                digests = np.array(
                    [
                        hmac.new(BENCH_KEY, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
                        for value in uniques
                    ]
                    + [None],
                    dtype=object,
                )
                coded[column] = digests[positions]
        for column in items:
            if column not in frame.columns:
                continue
            codes = pd.to_numeric(frame[column], errors="coerce")
            coded[column + "_code"] = codes
            coded[column] = codes.mask(codes.isin(special))
        pd.DataFrame(coded).to_parquet(out / f"{path.stem}.parquet", index=False)
        seconds[path.name] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study_file", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="Folder for the Parquet files.")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ingest-plain-") as folder:
        out = arguments.out or Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        seconds = ingest_like_plain(arguments.study_file, out)
    for name, value in seconds.items():
        print(f"{name:<24} {value:8.1f} s")
    print(f"{'total':<24} {sum(seconds.values()):8.1f} s")


if __name__ == "__main__":
    main()
