"""Within-arm change is the same number whatever the run: row order, BLAS threads, hash seed."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from measurement.change import within_arm_change

ARGUMENTS = dict(
    outcomes=["trust", "risk"],
    wave="wave",
    before="baseline",
    after="endline",
    design="panel",
    respondent="respondent",
    arm="arm",
    cluster="community",
)


def _panel(seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 600
    community = rng.integers(0, 30, n)
    base = pd.DataFrame(
        {
            "respondent": [f"r{i:04d}" for i in range(n)],
            "community": [f"c{c:02d}" for c in community],
            "arm": np.where(community % 2 == 0, "campaign", "comparison"),
        }
    )
    waves = []
    for wave, shift in (("baseline", 0.0), ("endline", 0.2)):
        part = base.assign(wave=wave)
        part["trust"] = rng.normal(3 + shift, 1, n).round(1)
        part["risk"] = rng.integers(1, 6, n).astype(float)
        part.loc[rng.random(n) < 0.1, "risk"] = np.nan
        waves.append(part)
    return pd.concat(waves, ignore_index=True)


def test_panel_change_does_not_depend_on_the_order_of_the_rows() -> None:
    frame = _panel()
    expected = within_arm_change(frame, **ARGUMENTS)  # type: ignore[arg-type]
    shuffled = frame.iloc[np.random.default_rng(1).permutation(len(frame))]
    pd.testing.assert_frame_equal(
        within_arm_change(shuffled, **ARGUMENTS),  # type: ignore[arg-type]
        expected,
        check_exact=True,
    )


def test_panel_change_is_bit_identical_in_a_process_with_one_blas_thread_and_another_hash_seed(
    tmp_path: Path,
) -> None:
    frame = _panel()
    expected = within_arm_change(frame, **ARGUMENTS)  # type: ignore[arg-type]
    given, produced = tmp_path / "frame.pkl", tmp_path / "table.pkl"
    given.write_bytes(pickle.dumps((frame, ARGUMENTS)))
    script = (
        "import pickle, sys\n"
        "from measurement.change import within_arm_change\n"
        "frame, arguments = pickle.load(open(sys.argv[1], 'rb'))\n"
        "pickle.dump(within_arm_change(frame, **arguments), open(sys.argv[2], 'wb'))\n"
    )
    environment = os.environ | {
        "PYTHONHASHSEED": "12345",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    subprocess.run(
        [sys.executable, "-c", script, str(given), str(produced)],
        check=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
    )
    other = pickle.loads(produced.read_bytes())
    pd.testing.assert_frame_equal(other, expected, check_exact=True)
