"""Time reading and coding a wave in each format against the plain reader of that format.

Run: .venv/bin/python bench/reading_bench.py [--rows 100000] [--xlsx-rows 20000]

For each format, one simulated baseline wave of the example study (faults included) is
written once, then timed side by side in this process: (1) the plain reader alone (pandas'
C engine for CSV, pandas with calamine for XLSX, pyreadstat for SPSS and Stata), and (2)
trustshift's `read_raw` + `code_wave` (format detection, encoding and delimiter detection,
column matching, labels to codes, range checks, role columns, identifying columns dropped).
The ratio says what trustshift's checks cost on top of reading the bytes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import pyreadstat  # noqa: E402

from flows.reading import code_wave, read_raw  # noqa: E402
from flows.simulation import SimulationSettings, simulate_wave_frame, write_wave  # noqa: E402
from flows.study import load_study  # noqa: E402

PLAIN_READERS: dict[str, Callable[[Path], object]] = {
    "csv": lambda path: pd.read_csv(path, dtype=str, keep_default_na=False),
    "kobo": lambda path: pd.read_csv(path, dtype=str, keep_default_na=False, sep=";"),
    "xlsx": lambda path: pd.read_excel(path, engine="calamine"),
    "sav": lambda path: pyreadstat.read_sav(str(path), user_missing=True),
    "dta": lambda path: pyreadstat.read_dta(str(path)),
}


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--xlsx-rows", type=int, default=20_000)
    arguments = parser.parse_args()
    study = load_study(ROOT / "data" / "studies" / "example" / "study.toml")
    settings = SimulationSettings(seed=5)
    print(f"{'format':7} {'rows':>9} {'MB':>6} {'plain s':>8} {'trustshift s':>13} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        for format, reader in PLAIN_READERS.items():
            rows = arguments.xlsx_rows if format == "xlsx" else arguments.rows
            frame = simulate_wave_frame(study, settings, "baseline", rows).frame
            suffix = {"kobo": "_kobo.csv"}.get(format, f".{format}")
            path = Path(folder) / f"baseline{suffix}"
            write_wave(frame, path, format, study)
            plain = timed(lambda path=path, reader=reader: reader(path))
            ours = timed(lambda path=path: code_wave(read_raw(path, study=study), study=study))
            size = path.stat().st_size / 1e6
            print(
                f"{format:7} {len(frame):>9,} {size:>6.1f} {plain:>8.2f} {ours:>13.2f} "
                f"{ours / plain:>6.1f}"
            )


if __name__ == "__main__":
    main()
