"""Time a first and a second `trustshift run` on the example study, and Prefect's share of each.

Run: .venv/bin/python bench/run_bench.py [--bootstrap-draws 9999] [--repeats 1]
     .venv/bin/python bench/run_bench.py --cost-profile [--sizes 600 6000] [--bootstrap-draws 999]

With ``--cost-profile`` it prints instead where a run's time goes, at two (or more) sizes of
a simulated study shaped like the example (three panel waves, ``--sizes`` respondents per
wave, 40 communities): imports (DuckDB, Great Expectations, Prefect, the pipeline), ingest,
validation (Great Expectations), estimation and report (each split into the time spent in
DuckDB calls and the rest), and Prefect (a one-task flow run in the same process, the fixed
cost a flow adds), with each stage's ratio between the sizes.

Each timing is the wall time of a fresh process, as an evaluator waits for it:

1. ``prefect first``: `trustshift run` on a fresh copy of the example study (three waves in the
   inbox, no warehouse, no Prefect home yet): ingest, validate, estimate, report.
2. ``prefect second``: the same command again on unchanged inputs: nothing new to ingest or
   validate, the earlier results are reused (no rows added but the run's own record); with
   nothing to do, `trustshift run` does not start Prefect at all.
2b. ``prefect second, flow forced``: the same with ``force=True`` (`--force`): the
   evaluate-study flow runs (temporary server, flow and task runs, artifacts) and reuses the
   results; this is what Prefect costs on a run with nothing to compute.
3. ``plain first`` / ``plain second``: the same steps through the same functions, in the same
   order, without Prefect (no flow, no tasks, no server, no artifacts).

Prefect's share of a run is (prefect - plain) / prefect. The run goes through
``flows.orchestration.commands.run_study``, the function behind `trustshift run`.

A second run reuses the first one's results only when the code did not change in between
(the fingerprint covers the source of measurement/, flows/ and expectations/). In a checkout
that is being edited, ``--snapshot`` runs everything on a copy of the committed tree (HEAD).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "studies" / "example"

PREFECT_RUN = """
import sys
from pathlib import Path
from flows.orchestration.commands import run_study
force = len(sys.argv) > 3 and sys.argv[3] == "force"
sys.exit(run_study(Path(sys.argv[1]), bootstrap_draws=int(sys.argv[2]), force=force))
"""

# The evaluate-study flow's steps as plain calls: same functions, same order, same records.
PLAIN_RUN = """
import json, sys, uuid, warnings
from datetime import datetime
from pathlib import Path
from flows.ingest import ingest_wave
from flows.orchestration import records, stages
from flows.orchestration.inbox import new_inbox_files
from flows.study import load_study

study = load_study(sys.argv[1])
draws = int(sys.argv[2])
seed = 20261130
run_id = str(uuid.uuid4())
pending = new_inbox_files(study)
inputs = {"new_files": [item.path.name for item in pending]}
records.record_run_start(
    study, run_id=run_id, kind="plain-run", inputs=inputs, started_at=datetime.now()
)
for item in pending:
    ingest_wave(study, item.path)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    for wave in stages.waves_to_validate(study):
        stages.validate_and_store(study, wave, run_id=run_id)
waves = records.stored_waves(study)
fingerprint = records.input_fingerprint(
    study,
    waves,
    extra=json.dumps(
        {"bootstrap_draws": draws, "seed": seed, "validation": stages.validation_state(study)}
    ),
)
previous = records.finished_run_with_fingerprint(study, kind="plain-run", fingerprint=fingerprint)
if previous is None:
    from flows.estimation import estimate_study, new_run_id
    from flows.report import build_report

    estimation_run_id = new_run_id()
    estimate_study(study, run_id=estimation_run_id, bootstrap_draws=draws, seed=seed)
    report = build_report(
        study, run_id=estimation_run_id, out_dir=stages.report_folder(study, estimation_run_id)
    )
    stages.read_estimates(study, run_id=estimation_run_id)
else:
    report = previous["inputs"]["outputs"]["report"]
inputs.update(fingerprint=fingerprint, outputs={"report": str(report)})
records.record_run_end(
    study, run_id=run_id, status="finished", message="", inputs=inputs, finished_at=datetime.now()
)
print(f"Report: {report}")
"""

DATA_TABLES = (
    "waves",
    "interviews",
    "answers",
    "validation_waves",
    "validation_summary",
    "quarantine",
    "estimates",
    "descriptives",
)


def fresh_study(folder: Path, code: Path) -> Path:
    """A copy of the example study with its three waves in the inbox, nothing stored."""
    example = code / EXAMPLE.relative_to(ROOT)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy2(example / "study.toml", folder / "study.toml")
    shutil.copytree(example / "inbox", folder / "inbox")
    return folder / "study.toml"


def timed(
    script: str,
    study_file: Path,
    draws: int,
    environment: dict[str, str],
    *extra: str,
) -> float:
    """Wall time of one fresh process running the script."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", script, str(study_file), str(draws), *extra],
        cwd=environment.get("PYTHONPATH", str(ROOT)),
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"run failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return elapsed


def row_counts(study_file: Path) -> dict[str, int]:
    """Rows per data table and runs of the study's warehouse."""
    import duckdb

    database = study_file.parent / "warehouse" / "trustshift.duckdb"
    connection = duckdb.connect(str(database), read_only=True)
    try:
        present = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        counts = {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in (*DATA_TABLES, "runs")
            if table in present
        }
    finally:
        connection.close()
    return counts


def latest_fingerprint(study_file: Path) -> str | None:
    """The input fingerprint of the latest evaluation run."""
    import duckdb

    database = study_file.parent / "warehouse" / "trustshift.duckdb"
    connection = duckdb.connect(str(database), read_only=True)
    try:
        row = connection.execute(
            "SELECT inputs FROM runs WHERE kind IN ('evaluate-study', 'plain-run') "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    return None if row is None else json.loads(row[0]).get("fingerprint")


def snapshot(folder: Path) -> Path:
    """A copy of the committed tree (HEAD) to run on, away from uncommitted edits."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


# One fresh process: imports, then each stage of a run timed, with its time in DuckDB calls.
COST_PROFILE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
folder, size, draws = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seconds = {}
started = time.perf_counter()
import duckdb
seconds["import duckdb"] = time.perf_counter() - started
started = time.perf_counter()
import great_expectations
seconds["import great_expectations"] = time.perf_counter() - started
started = time.perf_counter()
import prefect
seconds["import prefect"] = time.perf_counter() - started
in_duckdb = [0.0]

class Timed:
    # DuckDB's methods are invisible to cProfile: a connection that times every call.
    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        found = getattr(self._inner, name)
        if not callable(found):
            return found

        def timed(*args, **kwargs):
            started = time.perf_counter()
            result = found(*args, **kwargs)
            in_duckdb[0] += time.perf_counter() - started
            return self if result is self._inner else result

        return timed

original = duckdb.connect
duckdb.connect = lambda *args, **kwargs: Timed(original(*args, **kwargs))
started = time.perf_counter()
from pathlib import Path
from flows.estimation import estimate_study
from flows.ingest import ingest_wave
from flows.orchestration import stages
from flows.report import build_report
from flows.simulation import SimulationSettings, simulate_study
from flows.simulation.writers import write_simulated_study
from flows.study import load_study
seconds["import pipeline"] = time.perf_counter() - started
root = Path(folder)
study = load_study(root / "study.toml")
settings = SimulationSettings(
    seed=20261130, n_clusters=40, respondents_per_cluster=max(1, size // 40), sampling="panel"
)
write_simulated_study(simulate_study(study, settings), root / "inbox", formats=("csv",))

def stage(name, call):
    before = in_duckdb[0]
    started = time.perf_counter()
    call()
    total = time.perf_counter() - started
    inside = in_duckdb[0] - before
    seconds[f"{name}: DuckDB"] = inside
    seconds[f"{name}: the rest"] = total - inside

stage("ingest", lambda: [ingest_wave(study, root / "inbox" / f"{w}.csv") for w in study.wave_names])
stage("validate (GX)", lambda: [
    stages.validate_and_store(study, wave, run_id="cost-profile")
    for wave in stages.waves_to_validate(study)
])
stage("estimate", lambda: estimate_study(study, run_id="estimate-cost", bootstrap_draws=draws))
stage("report", lambda: build_report(study, run_id="estimate-cost", out_dir=root / "report"))
from prefect import flow, task
from prefect.settings import temporary_settings

@task
def nothing():
    return 0

@flow
def one_task():
    return nothing()

with temporary_settings(updates={"flows.heartbeat_frequency": None}):
    started = time.perf_counter()
    one_task()
    seconds["Prefect: first flow run (server start)"] = time.perf_counter() - started
    started = time.perf_counter()
    one_task()
    seconds["Prefect: each further flow run"] = time.perf_counter() - started
print(json.dumps(seconds))
"""


def cost_profile(sizes: list[int], draws: int, environment: dict[str, str]) -> None:
    """Print where a run's time goes at each size, with the ratio of the last to the first."""
    work = Path(tempfile.mkdtemp(prefix="trustshift-cost-profile-"))
    found: dict[int, dict[str, float]] = {}
    try:
        for size in sizes:
            folder = work / f"n{size}"
            folder.mkdir()
            shutil.copy2(EXAMPLE / "study.toml", folder / "study.toml")
            run_environment = dict(environment, PREFECT_HOME=str(folder / "prefect-home"))
            completed = subprocess.run(
                [sys.executable, "-c", COST_PROFILE, str(folder), str(size), str(draws)],
                cwd=ROOT,
                env=run_environment,
                capture_output=True,
                text=True,
                check=False,
            )
            if completed.returncode != 0:
                raise SystemExit(f"cost profile at {size} failed:\n{completed.stderr[-4000:]}")
            found[size] = json.loads(completed.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first, last = sizes[0], sizes[-1]
    print(f"Where a run's time goes ({draws} bootstrap draws), seconds per respondents per wave:")
    header = "".join(f"{size:>10}" for size in sizes)
    print(f"{'stage':42}{header}{'ratio':>8}")
    names = list(found[first])
    for name in [*names, "total"]:
        values = [
            sum(found[size].values()) if name == "total" else found[size][name] for size in sizes
        ]
        ratio = values[-1] / values[0] if values[0] > 0.05 else float("nan")
        cells = "".join(f"{value:>10.1f}" for value in values)
        print(f"{name:42}{cells}{ratio:>8.1f}")
    print(f"size ratio {last / first:.0f}; a stage linear in N has a ratio near it, fixed costs 1.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-draws", type=int, default=9999)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--snapshot", action="store_true", help="run on a copy of the committed tree (HEAD)"
    )
    parser.add_argument("--cost-profile", action="store_true", help="where a run's time goes")
    parser.add_argument("--sizes", type=int, nargs="+", default=[600, 6000])
    arguments = parser.parse_args()
    if arguments.cost_profile:
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PREFECT_HOME", "PREFECT_API_URL", "TRUSTSHIFT_WAREHOUSE")
        }
        environment["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
        cost_profile(arguments.sizes, arguments.bootstrap_draws, environment)
        return
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PREFECT_HOME", "PREFECT_API_URL", "TRUSTSHIFT_WAREHOUSE")
    }
    environment["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
    work = Path(tempfile.mkdtemp(prefix="trustshift-run-bench-"))
    code = ROOT
    if arguments.snapshot:
        code = snapshot(work / "code")
        environment["PYTHONPATH"] = str(code)
    results: dict[str, list[float]] = {
        "prefect first": [],
        "prefect second": [],
        "prefect second, flow forced": [],
        "plain first": [],
        "plain second": [],
    }
    checks: list[str] = []
    for repeat in range(arguments.repeats):
        for mode, script in (("prefect", PREFECT_RUN), ("plain", PLAIN_RUN)):
            study_file = fresh_study(work / f"{mode}-{repeat}", code)
            results[f"{mode} first"].append(
                timed(script, study_file, arguments.bootstrap_draws, environment)
            )
            first_fingerprint = latest_fingerprint(study_file)
            before = row_counts(study_file)
            results[f"{mode} second"].append(
                timed(script, study_file, arguments.bootstrap_draws, environment)
            )
            after = row_counts(study_file)
            same_inputs = latest_fingerprint(study_file) == first_fingerprint
            if mode == "prefect":
                results["prefect second, flow forced"].append(
                    timed(script, study_file, arguments.bootstrap_draws, environment, "force")
                )
            added = {t: after[t] - before.get(t, 0) for t in after if after[t] != before.get(t)}
            checks.append(
                f"{mode} #{repeat + 1}: second run reused the first's results: "
                f"{'yes' if same_inputs else 'NO (the code changed in between: see --snapshot)'}; "
                f"rows added by the second run: {added or 'none'}"
            )
    shutil.rmtree(work, ignore_errors=True)

    def best(name: str) -> float:
        return min(results[name])

    print(f"trustshift run on the example study ({arguments.bootstrap_draws} bootstrap draws), ")
    print(f"wall time of a fresh process, best of {arguments.repeats}:")
    print(f"{'':16}{'with Prefect':>14}{'plain calls':>14}{'Prefect adds':>14}{'share':>8}")
    for which, label in (
        ("first", "first run"),
        ("second", "second run"),
        ("second, flow forced", "second, forced"),
    ):
        prefect, plain = best(f"prefect {which}"), best(f"plain {which.split(',')[0]}")
        print(
            f"{label:16}{prefect:>13.1f}s{plain:>13.1f}s{prefect - plain:>13.1f}s"
            f"{(prefect - plain) / prefect:>8.0%}"
        )
    for line in checks:
        print(line)


if __name__ == "__main__":
    main()
