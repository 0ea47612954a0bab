"""Time and peak memory of every stage on simulated studies of 10,000 to 1,000,000 per wave.

Run: .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--stages ...]
     [--bootstrap-draws 999] [--workdir work/scale] [--stop-above-gb 12]

For each size N (respondents per wave, three waves of the example study's design):

1. simulate the study in chunks straight to CSV files (each chunk is a study of its own
   communities, panel and faults, written to the end of each wave's file, so the simulator
   never holds more than one chunk); files are kept in ``--workdir`` and reused;
2. run each stage as its own ``trustshift`` process on one study folder, in order:
   ``ingest``, ``validate``, ``estimate``, ``report``; then ``run`` (all of them as the
   Prefect flow) on a fresh copy of the study folder;
3. do the same work with the plain libraries, stage by stage, each stage its own process
   (``plain-ingest``, ``plain-validate``, ``plain-estimate``, ``plain-report``; the code is
   ``bench/plain_stages.py``, whose docstring lists what each covers and what the pipeline
   does beyond it: randomization inference, wild bootstrap, CR2, difference-in-differences
   and robustness models, Lee bounds, descriptive and balance tables, q-values, Great
   Expectations and Data Docs, the warehouse's transactions and records, the report's plots
   and text). ``tests/bench/test_plain_stages.py`` checks on the example study that the plain
   quarantine equals the pipeline's and the plain estimates equal the pipeline's CR1 ANCOVA;
4. ``plain-minimal``, the earlier comparison kept for transparency: the primary outcomes'
   columns only, read with pandas, one statsmodels OLS per primary outcome (campaign x
   later wave) with cluster-robust errors.

Each process is measured from outside: wall time, and peak resident memory of the process
and its children (``wait4``'s ``ru_maxrss``, which counts the largest child). A watcher stops
a process whose tree holds more than ``--stop-above-gb`` (the machine is shared). Printed: per
stage and N the seconds and peak GB, the log-log slope of time against N over the sizes run,
the ratio of each pipeline stage to its plain equivalent, and end to end: ``run`` and the sum
of the single stages over the sum of the plain stages.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLE_STUDY = ROOT / "data" / "studies" / "example" / "study.toml"
TRUSTSHIFT = Path(sys.executable).with_name("trustshift")
PIPELINE_STAGES: tuple[str, ...] = ("ingest", "validate", "estimate", "report")
PLAIN_STAGES: tuple[str, ...] = tuple(f"plain-{stage}" for stage in PIPELINE_STAGES)
STAGES: tuple[str, ...] = (*PIPELINE_STAGES, "run", *PLAIN_STAGES, "plain-minimal")
PLAIN_SCRIPT = ROOT / "bench" / "plain_stages.py"
# Respondents per simulated chunk and communities per chunk: 1,000,000 per wave is 20 chunks
# of 100 communities of 500 respondents (2,000 communities).
CHUNK_RESPONDENTS = 50_000
CHUNK_CLUSTERS = 100
SEED = 20261201

PLAIN = """
import sys
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from flows.study import load_study

study = load_study(sys.argv[1])
instrument = study.resolved_instrument()
columns = study.columns
items = {}
for outcome in study.outcomes.primary:
    if outcome in instrument.item_names:
        items[outcome] = [outcome]
    else:
        items[outcome] = [item.name for item in instrument.items_of(outcome)]
needed = {columns.arm.column, columns.cluster}
needed.update(name for group in items.values() for name in group)
frames = []
for position, wave in enumerate(study.wave_names):
    frame = pd.read_csv(study.root / study.locations.inbox / f"{wave}.csv", usecols=needed)
    frame["post"] = int(position == study.wave_names.index(study.outcomes.primary_wave))
    frames.append(frame[frame["post"] == 1] if position else frame)
data = pd.concat(frames, ignore_index=True)
codes = [code for group in study.special_codes().values() for code in group]
data["treated"] = data[columns.arm.column].isin(columns.arm.treatment).astype(int)
for outcome in study.outcomes.primary:
    values = data[items[outcome]].apply(pd.to_numeric, errors="coerce")
    values = values.mask(values.isin(codes))
    data["y"] = values.mean(axis=1)
    model = data.dropna(subset=["y"])
    groups = model[columns.cluster].astype("category").cat.codes
    fit = smf.ols("y ~ treated * post", data=model).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    print(outcome, float(fit.params["treated:post"]), float(fit.bse["treated:post"]))
"""


@dataclass(frozen=True, slots=True)
class Measurement:
    stage: str
    size: int
    seconds: float
    peak_gb: float
    status: str


def simulate_to_files(size: int, folder: Path) -> Path:
    """The example study's design at ``size`` respondents per baseline wave, as CSV files."""
    from flows.simulation import SimulationSettings, simulate_study
    from flows.simulation.writers import TIMESTAMP_FORMAT
    from flows.study import load_study

    study_file = folder / "study.toml"
    done = folder / ".simulated"
    if done.is_file():
        return study_file
    shutil.rmtree(folder, ignore_errors=True)
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    shutil.copy(EXAMPLE_STUDY, study_file)
    study = load_study(study_file)
    chunks = max(1, math.ceil(size / CHUNK_RESPONDENTS))
    written: set[str] = set()
    for chunk in range(chunks):
        respondents = min(CHUNK_RESPONDENTS, size - chunk * CHUNK_RESPONDENTS)
        clusters = min(CHUNK_CLUSTERS, max(4, respondents // 20))
        settings = SimulationSettings(
            seed=SEED + chunk,
            n_clusters=clusters,
            respondents_per_cluster=max(1, respondents // clusters),
            n_enumerators=min(40, clusters),
        )
        simulated = simulate_study(study, settings)
        for wave, generated in simulated.waves.items():
            frame = generated.frame
            # Each chunk is its own set of communities, enumerators and respondents.
            for role in ("cluster", "enumerator", "respondent"):
                column = getattr(study.columns, role)
                frame[column] = f"k{chunk:03d}-" + frame[column].astype(str)
            path = inbox / f"{wave}.csv"
            frame.to_csv(
                path,
                mode="a" if wave in written else "w",
                header=wave not in written,
                index=False,
                encoding="utf-8",
                lineterminator="\n",
                date_format=TIMESTAMP_FORMAT,
            )
            written.add(wave)
        print(f"  simulated chunk {chunk + 1}/{chunks} of N={size:,}", flush=True)
    done.write_text("done\n")
    return study_file


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(command: list[str], *, environment: dict[str, str], stop_bytes: int) -> tuple:
    """Run ``command``; wall seconds, peak resident GB and a status (ok, exit N, stopped)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    stopped = threading.Event()
    watched_peak = [0]

    def watch() -> None:
        while process.returncode is None and not stopped.is_set():
            rss = tree_rss(process.pid)
            watched_peak[0] = max(watched_peak[0], rss)
            if rss > stop_bytes:
                stopped.set()
                os.killpg(process.pid, 9)
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stderr_tail = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    stopped_here = stopped.is_set()
    stopped.set()
    watcher.join()
    peak = max(usage.ru_maxrss * 1024, watched_peak[0]) / 1e9
    if stopped_here:
        return seconds, peak, f"stopped above {stop_bytes / 1e9:.0f} GB"
    if process.returncode != 0:
        last = stderr_tail.strip().splitlines()[-1:] or [""]
        return seconds, peak, f"exit {process.returncode}: {last[0][:100]}"
    return seconds, peak, "ok"


def stage_command(stage: str, study_file: Path, draws: int, plain_out: Path) -> list[str]:
    trustshift = [str(TRUSTSHIFT)]
    if stage == "plain-minimal":
        return [sys.executable, "-c", PLAIN, str(study_file)]
    if stage in PLAIN_STAGES:
        plain = stage.removeprefix("plain-")
        return [sys.executable, str(PLAIN_SCRIPT), plain, str(study_file), str(plain_out)]
    if stage == "estimate":
        return [*trustshift, "estimate", str(study_file), "--bootstrap-draws", str(draws)]
    if stage == "run":
        return [*trustshift, "run", str(study_file), "--bootstrap-draws", str(draws)]
    return [*trustshift, stage, str(study_file)]


def fresh_copy(source: Path, target: Path) -> Path:
    """A study folder with only the study file and the inbox (files hard-linked)."""
    shutil.rmtree(target, ignore_errors=True)
    (target / "inbox").mkdir(parents=True)
    shutil.copy(source / "study.toml", target / "study.toml")
    for path in (source / "inbox").iterdir():
        os.link(path, target / "inbox" / path.name)
    return target / "study.toml"


def slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(seconds) on log(N)."""
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(s, 1e-3)) for _, s in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def same_work(steps_study: Path, plain_out: Path) -> str | None:
    """The plain path's quarantine counts and ANCOVA estimates against the pipeline's (the
    single-stage study), or None when either side is missing."""
    import duckdb
    import pandas as pd

    warehouse = steps_study.parent / "warehouse" / "trustshift.duckdb"
    plain_estimates = plain_out / "estimates.parquet"
    if not warehouse.is_file() or not plain_estimates.is_file():
        return None
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        pipeline_counts = dict(
            connection.execute(
                "SELECT wave, count(DISTINCT row_number) FROM quarantine GROUP BY wave"
            ).fetchall()
        )
        estimates = connection.execute(
            "SELECT outcome, wave, estimate FROM estimates WHERE estimator = 'ancova' AND "
            "run_id = (SELECT run_id FROM runs WHERE kind = 'estimate' AND status = 'finished' "
            "ORDER BY started_at DESC LIMIT 1)"
        ).fetch_df()
    plain_counts = {}
    for wave in sorted(pipeline_counts):
        mask = pd.read_parquet(plain_out / wave / "quarantine.parquet")
        plain_counts[wave] = int(mask["quarantined"].sum())
    plain = pd.read_parquet(plain_estimates)
    joined = estimates.merge(plain, on=["outcome", "wave"], suffixes=("", "_plain"))
    difference = (joined["estimate"] - joined["estimate_plain"]).abs().max()
    verdict = "equal" if pipeline_counts == plain_counts else "DIFFER"
    return (
        f"quarantined rows pipeline {sum(pipeline_counts.values()):,} / plain "
        f"{sum(plain_counts.values()):,} ({verdict} by wave); ANCOVA estimates pipeline "
        f"{len(estimates)} / plain {len(plain)}, "
        f"{len(joined)} matched, largest difference {difference:.1e}"
    )


def ratio_line(by_stage: dict[str, Measurement]) -> str:
    """Each stage over its plain equivalent, then run and the stages' sum over the plain sum."""

    def ok(stage: str) -> Measurement | None:
        found = by_stage.get(stage)
        return found if found is not None and found.status == "ok" else None

    parts = []
    for stage in PIPELINE_STAGES:
        pipeline, plain = ok(stage), ok(f"plain-{stage}")
        if pipeline is not None and plain is not None:
            parts.append(f"{stage} {pipeline.seconds / plain.seconds:.1f}")
    plain_parts = [ok(stage) for stage in PLAIN_STAGES]
    if all(part is not None for part in plain_parts):
        plain_total = sum(part.seconds for part in plain_parts if part is not None)
        parts.append(f"plain total {plain_total:.1f} s")
        run = ok("run")
        if run is not None:
            parts.append(f"run/plain {run.seconds / plain_total:.1f}")
        stages = [ok(stage) for stage in PIPELINE_STAGES]
        if all(stage is not None for stage in stages):
            total = sum(stage.seconds for stage in stages if stage is not None)
            parts.append(f"stages/plain {total / plain_total:.1f}")
    minimal, run = ok("plain-minimal"), ok("run")
    if minimal is not None and run is not None:
        parts.append(f"run/plain-minimal {run.seconds / minimal.seconds:.1f}")
    return "  ".join(parts) if parts else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--bootstrap-draws", type=int, default=999)
    parser.add_argument("--workdir", type=Path, default=ROOT / "work" / "scale")
    parser.add_argument("--stop-above-gb", type=float, default=12.0)
    arguments = parser.parse_args()
    sizes = [int(size.replace("_", "")) for size in arguments.sizes.split(",")]
    stages = [stage.strip() for stage in arguments.stages.split(",")]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        parser.error(f"unknown stages {unknown}; choose from {list(STAGES)}")
    # The report stage prints the PDF as a study's run does: without a browser it fails only
    # after every stage before it has run (minutes at 100,000 per wave), so check first.
    from flows.report.pdf import INSTALL_HINT, chromium_binary

    if set(stages) & {"report", "run"} and chromium_binary() is None:
        parser.error(
            f"the report and run stages print a PDF and no browser was found. {INSTALL_HINT}."
        )
    workdir = arguments.workdir.resolve()
    environment = {
        **os.environ,
        "PREFECT_HOME": str(workdir / "prefect-home"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PYTHONWARNINGS": "ignore",
    }
    environment.pop("TRUSTSHIFT_WAREHOUSE", None)
    stop_bytes = int(arguments.stop_above_gb * 1e9)
    results: list[Measurement] = []
    print(f"{'stage':<14} {'N/wave':>10} {'seconds':>9} {'peak GB':>8}  status", flush=True)
    for size in sizes:
        simulated = simulate_to_files(size, workdir / f"simulated-{size}")
        steps = whole = simulated
        if set(stages) & {"ingest", "validate", "estimate", "report"}:
            steps = fresh_copy(simulated.parent, workdir / f"steps-{size}")
        if "run" in stages:
            whole = fresh_copy(simulated.parent, workdir / f"run-{size}")
        plain_out = workdir / f"plain-{size}"
        if "plain-ingest" in stages:
            shutil.rmtree(plain_out, ignore_errors=True)
        for stage in stages:
            study_file = whole if stage == "run" else steps
            if stage.startswith("plain"):
                study_file = simulated
            seconds, peak, status = measure(
                stage_command(stage, study_file, arguments.bootstrap_draws, plain_out),
                environment=environment,
                stop_bytes=stop_bytes,
            )
            results.append(Measurement(stage, size, seconds, peak, status))
            print(f"{stage:<14} {size:>10,} {seconds:>9.1f} {peak:>8.2f}  {status}", flush=True)

    print("\nlog-log slope of time against N (1.0 = linear), over the sizes that finished:")
    for stage in stages:
        points = [(m.size, m.seconds) for m in results if m.stage == stage and m.status == "ok"]
        fitted = slope(points)
        print(f"  {stage:<14} {'-' if fitted is None else f'{fitted:.2f}'}")
    print("\nratio to the plain-library path (pandas, numpy, pyarrow, statsmodels), by stage:")
    for size in sizes:
        print(f"  N={size:>10,}  {ratio_line({m.stage: m for m in results if m.size == size})}")
    print("\nsame work (pipeline's single stages against the plain stages):")
    for size in sizes:
        checked = same_work(workdir / f"steps-{size}" / "study.toml", workdir / f"plain-{size}")
        print(f"  N={size:>10,}  {checked or '-'}")
    peaks = [m for m in results if not m.stage.startswith("plain")]
    if peaks:
        worst = max(peaks, key=lambda m: m.peak_gb)
        print(f"\nlargest peak: {worst.peak_gb:.2f} GB ({worst.stage}, N={worst.size:,})")


if __name__ == "__main__":
    main()
