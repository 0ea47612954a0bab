"""Time the full validation of simulated waves against the same checks in plain pandas.

Run: .venv/bin/python bench/validation_bench.py [--sizes 10000 100000 1000000] [--data-docs]

For each size: simulate one wave with the example study's planted faults, code it, then time
(1) the plain-pandas equivalent (field-quality flags and every row-level condition, evaluated
once, no GX) and (2) ``validate_wave`` with every suite run in GX (BOOLEAN_ONLY on the wave,
SUMMARY on the derived tables), optionally building Data Docs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import great_expectations  # noqa: F401

from flows.reading import code_wave  # noqa: E402
from flows.reading.raw import RawWave  # noqa: E402
from flows.simulation import SimulationSettings, simulate_wave_frame  # noqa: E402
from flows.study import load_study  # noqa: E402
from flows.validation import build_suites, validate_wave  # noqa: E402
from flows.validation.checks import field_quality  # noqa: E402
from flows.validation.conditions import ROW_EXPECTATION_TYPES, failing_rows  # noqa: E402
from flows.validation.suites import item_columns  # noqa: E402
from flows.validation.wave import working_frame  # noqa: E402


def plain_pandas(coded, study) -> int:  # type: ignore[no-untyped-def]
    """The same checks without GX: flags once, then every row-level condition; rows flagged."""
    items = [name for name in item_columns(study) if name in coded.columns]
    coded = working_frame(coded)
    quality = field_quality(coded, study, items)
    checked = pd.concat([coded, quality.derived], axis=1)
    flagged = None
    for suite in build_suites(study).values():
        if suite["meta"]["target"] != "wave" or suite["meta"].get("wave") not in (None, "baseline"):
            continue
        for expectation in suite["expectations"]:
            column = expectation["kwargs"].get("column")
            if expectation["type"] not in ROW_EXPECTATION_TYPES or column not in checked.columns:
                continue
            mask = failing_rows(checked, expectation["type"], expectation["kwargs"]).mask
            flagged = mask if flagged is None else flagged | mask
    return int(flagged.sum()) if flagged is not None else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--data-docs", action="store_true", help="also build Data Docs")
    parser.add_argument("--study", type=Path, default=ROOT / "data" / "studies" / "example")
    arguments = parser.parse_args()
    study = load_study(arguments.study)
    settings = SimulationSettings(seed=20261130, n_clusters=200, n_enumerators=40)
    print(f"{'rows':>10} {'columns':>8} {'simulate+code s':>16} {'pandas s':>9} "
          f"{'full GX s':>10} {'ratio':>6} {'quarantined':>12} {'expectations':>13}")  # fmt: skip
    for size in arguments.sizes:
        started = time.perf_counter()
        wave = simulate_wave_frame(study, settings, "baseline", size)
        raw = RawWave(source=Path("baseline.csv"), format="csv", frame=wave.frame)
        coded = code_wave(raw, study=study, wave="baseline").frame
        prepared = time.perf_counter() - started

        started = time.perf_counter()
        plain_pandas(coded, study)
        pandas_seconds = time.perf_counter() - started

        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            validation = validate_wave(
                coded,
                study=study,
                wave="baseline",
                data_docs_dir=Path(folder) if arguments.data_docs else None,
            )
            full_seconds = time.perf_counter() - started
        print(
            f"{len(coded):>10,} {coded.shape[1]:>8} {prepared:>16.2f} {pandas_seconds:>9.2f} "
            f"{full_seconds:>10.2f} {full_seconds / pandas_seconds:>6.1f} "
            f"{len(validation.quarantined):>12,} {len(validation.summary):>13}",
            flush=True,
        )


if __name__ == "__main__":
    main()
