"""Profile the estimate and report stages of a simulated study of N respondents per wave.

Run: .venv/bin/python bench/estimate_profile.py [--sizes 20000 100000] [--clusters 200]
     [--bootstrap-draws 999] [--validate] [--top 25] [--keep FOLDER]

For each size: simulate the example study's design at N respondents per wave (three waves,
a panel, ``--clusters`` communities), ingest the waves (and validate them with
``--validate``), then run, each in a fresh process, ``estimate_study`` and ``build_report``
under cProfile, and print per stage the wall time, the peak resident memory of that process
(``ru_maxrss``), the number of warehouse connections opened, and the ``--top`` functions by
cumulative time. Preparation (simulate, ingest, validate) is timed but not profiled: those
stages belong to the data path's own benchmark.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "data" / "studies" / "example" / "study.toml"

# One stage in a fresh process: cProfile around the call, peak RSS and connections after.
STAGE = """
import cProfile, io, json, pstats, resource, sys, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
stage, study_file, draws, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
import flows.warehouse as warehouse
opened = []
original = warehouse.duckdb.connect
def counting(*args, **kwargs):
    opened.append(args[0] if args else kwargs.get("database"))
    return original(*args, **kwargs)
warehouse.duckdb.connect = counting
from flows.study import load_study
study = load_study(study_file)
profile = cProfile.Profile()
started = time.perf_counter()
if stage == "estimate":
    from flows.estimation import estimate_study
    profile.enable()
    run = estimate_study(study, run_id="profile-run", bootstrap_draws=draws)
    profile.disable()
else:
    from flows.report import build_report
    profile.enable()
    build_report(study, run_id="profile-run", out_dir=Path(study_file).parent / "report")
    profile.disable()
elapsed = time.perf_counter() - started
text = io.StringIO()
pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(top)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("FIGURES " + json.dumps({"seconds": elapsed, "peak_mb": peak, "connections": len(opened)}))
print(text.getvalue(), file=sys.stderr)
"""


def make_study(folder: Path, size: int, clusters: int) -> Path:
    """Write a simulated three-wave panel of ``size`` respondents per wave into ``folder``."""
    from flows.simulation import SimulationSettings, simulate_study
    from flows.simulation.writers import write_simulated_study
    from flows.study import load_study

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(EXAMPLE, folder / "study.toml")
    study = load_study(folder / "study.toml")
    settings = SimulationSettings(
        seed=20261130,
        n_clusters=clusters,
        n_strata=2,
        respondents_per_cluster=max(1, size // clusters),
        sampling="panel",
        n_enumerators=max(8, clusters // 5),
    )
    simulated = simulate_study(study, settings)
    write_simulated_study(simulated, folder / "inbox", formats=("csv",))
    return folder / "study.toml"


def prepare(study_file: Path, *, validate: bool) -> dict[str, float]:
    """Ingest (and optionally validate) every wave; seconds per step."""
    from flows.ingest import ingest_wave
    from flows.study import load_study

    study = load_study(study_file)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for wave in study.wave_names:
        ingest_wave(study, study_file.parent / "inbox" / f"{wave}.csv")
    timings["ingest"] = time.perf_counter() - started
    if validate:
        from flows.orchestration import stages

        started = time.perf_counter()
        for wave in stages.waves_to_validate(study):
            stages.validate_and_store(study, wave, run_id="profile-validation")
        timings["validate"] = time.perf_counter() - started
    return timings


def run_stage(stage: str, study_file: Path, draws: int, top: int) -> tuple[dict[str, float], str]:
    """One stage in a fresh process: its figures and its profile text."""
    completed = subprocess.run(
        [sys.executable, "-c", STAGE, stage, str(study_file), str(draws), str(top)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{stage} failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    marked = [line for line in completed.stdout.splitlines() if line.startswith("FIGURES ")]
    figures = json.loads(marked[-1].removeprefix("FIGURES "))
    return figures, completed.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--bootstrap-draws", type=int, default=999)
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", type=Path, help="keep the studies under this folder")
    parser.add_argument("--quiet", action="store_true", help="print the figures only")
    arguments = parser.parse_args()
    work = arguments.keep or Path(tempfile.mkdtemp(prefix="trustshift-estimate-profile-"))
    rows = []
    for size in arguments.sizes:
        folder = work / f"n{size}"
        study_file = folder / "study.toml"
        started = time.perf_counter()
        if not (folder / "warehouse").exists():
            if folder.exists():
                shutil.rmtree(folder)
            study_file = make_study(folder, size, arguments.clusters)
            simulated = time.perf_counter() - started
            timings = prepare(study_file, validate=arguments.validate)
        else:
            simulated, timings = 0.0, {}
        row = {"size": size, "simulate": simulated, **timings}
        for stage in ("estimate", "report"):
            figures, profile = run_stage(
                stage, study_file, arguments.bootstrap_draws, arguments.top
            )
            row.update({f"{stage} {key}": value for key, value in figures.items()})
            if not arguments.quiet:
                print(f"--- {stage} at {size} respondents per wave ---")
                print(profile)
        rows.append(row)
        print(json.dumps(row))
    if not arguments.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{'per wave':>10}{'estimate s':>12}{'peak MB':>9}{'conn':>6}"
        f"{'report s':>10}{'peak MB':>9}{'conn':>6}"
    )
    for row in rows:
        print(
            f"{row['size']:>10}{row['estimate seconds']:>12.1f}{row['estimate peak_mb']:>9.0f}"
            f"{row['estimate connections']:>6}{row['report seconds']:>10.1f}"
            f"{row['report peak_mb']:>9.0f}{row['report connections']:>6}"
        )


if __name__ == "__main__":
    main()
