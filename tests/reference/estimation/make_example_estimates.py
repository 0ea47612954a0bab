"""Store every result table of one estimation of the example study, as the reference that
later versions of the estimation must reproduce.

Run from the repository root:
``.venv/bin/python tests/reference/estimation/make_example_estimates.py``.
It copies the example study to a temporary folder, ingests its waves (not validated: every
stored row is analysed), estimates it
with the draws below and writes ``example_estimates.parquet`` here (one row per result
row: table, row position, column and value as text at full precision). Run settings that
name software versions or the study file's path are left out. Made with the estimation as
it was before the analysis frame was built one wave pair at a time (commit in the commit
message that adds the file).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path.cwd()
sys.path.insert(0, str(ROOT))
HERE = Path(__file__).resolve().parent
BOOTSTRAP_DRAWS, LEE_DRAWS, SEED = 49, 20, 11
# Tables whose values depend on when or with what software the run was made.
SKIPPED = {"run_settings", "input_files"}


def reference_rows(study_file: Path) -> pd.DataFrame:
    """Ingest and estimate the study; every result table as long text rows."""
    from flows.estimation import estimate_study
    from flows.estimation.results import RESULT_TABLES, read_result
    from flows.ingest import ingest_wave
    from flows.study import load_study

    study = load_study(study_file)
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    run = estimate_study(
        study, run_id="reference", bootstrap_draws=BOOTSTRAP_DRAWS, lee_draws=LEE_DRAWS, seed=SEED
    )
    parts = []
    for table in sorted(RESULT_TABLES):
        if table in SKIPPED:
            continue
        frame = read_result(study, table, run.run_id)
        long = frame.astype(object).map(lambda value: repr(value) if not pd.isna(value) else "")
        long = long.reset_index(names="row").melt(
            id_vars="row", var_name="column", value_name="value"
        )
        long.insert(0, "table", table)
        parts.append(long)
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "example"
        shutil.copytree(ROOT / "data" / "studies" / "example", target)
        for derived in ("warehouse", "results", "raw", "report"):
            shutil.rmtree(target / derived, ignore_errors=True)
        rows = reference_rows(target / "study.toml")
    rows.to_parquet(HERE / "example_estimates.parquet", index=False)
    print(f"wrote {len(rows)} values of {rows['table'].nunique()} tables")


if __name__ == "__main__":
    main()
