"""A team set-up on one machine: Prefect on PostgreSQL, a process worker, two studies at once.

A throwaway PostgreSQL cluster holds both the Prefect server's database and the warehouse.
Two studies (the bundled example's baseline and endline, with identifying columns, and the
Beat the Blues trial)
are deployed to a process work pool and run by one worker at the same time; the same studies
are then run one after the other with the embedded DuckDB file. Their result tables must be
identical, every digit and in stored order, and no identifying value may reach PostgreSQL.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from flows.estimation.results import RESULT_TABLES
from flows.postgres_warehouse import PostgresWarehouse
from flows.study import load_study
from flows.warehouse import connect
from tests.integration.postgres_cluster import PostgresCluster, free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
POOL = "trustshift-test"
KEY = "team-server-test-key-0123456789abcdef0123456789"
# Few draws: the comparison is between warehouses, not of the bootstrap's accuracy.
PARAMETERS = {"bootstrap_draws": 99, "seed": 20261201}
SERVER_START_SECONDS = 120
RUN_SECONDS = 420


def _call(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read().decode("utf-8"))


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _copy_studies(folder: Path) -> list[Path]:
    """The bundled example and the Beat the Blues trial, each with its waves in its inbox."""
    example = folder / "example"
    shutil.copytree(ROOT / "data" / "studies" / "example", example, ignore=_no_truth)
    # Baseline and endline are enough to estimate; the follow-up would only add minutes.
    (example / "inbox" / "follow_up.csv").unlink()
    blues = folder / "beat_the_blues"
    (blues / "inbox").mkdir(parents=True)
    source = ROOT / "tests" / "acceptance" / "data" / "beat_the_blues"
    for name in ("study.toml", "instrument.toml"):
        shutil.copyfile(source / name, blues / name)
    for name in ("baseline.csv", "endline.csv"):
        shutil.copyfile(source / name, blues / "inbox" / name)
    return [example / "study.toml", blues / "study.toml"]


def _no_truth(directory: str, names: list[str]) -> list[str]:
    return ["truth"] if "truth" in names else []


@pytest.fixture(scope="module")
def prefect_on_postgres(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """`prefect server start` on a PostgreSQL database; yields a client's environment."""
    folder = tmp_path_factory.mktemp("prefect")
    database = postgres_cluster.create_database("prefect")
    port = free_port()
    environment = {
        **os.environ,
        "PREFECT_HOME": str(folder / "home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database.replace(
            "postgresql://", "postgresql+asyncpg://", 1
        ),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_HEARTBEAT_SECONDS": "5",
    }
    for name in ("TRUSTSHIFT_WAREHOUSE", "TRUSTSHIFT_WAREHOUSE_URL"):
        environment.pop(name, None)
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "prefect", "server", "start"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                _call(f"http://127.0.0.1:{port}/api/health")
                break
            except (urllib.error.URLError, OSError, ValueError):
                pass  # not listening yet: poll again until the deadline
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "prefect server did not start on PostgreSQL: "
                    + (folder / "server.log").read_text()
                )
            time.sleep(0.5)
        yield environment
    finally:
        _stop(server)
        log.close()


DEPLOY_AND_RUN = """
import json, sys, time
from pathlib import Path
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from flows.orchestration.deployments import study_deployment
from flows.study import load_study

pool, parameters, files = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
studies = [load_study(Path(name)) for name in files]
for study in studies:
    study_deployment(study, cron=None).apply(work_pool_name=pool)
runs = [
    run_deployment(f"evaluate-study/{study.id}", parameters=parameters, timeout=0)
    for study in studies
]
deadline = time.monotonic() + RUN_SECONDS
with get_client(sync_client=True) as client:
    while True:
        found = [client.read_flow_run(run.id) for run in runs]
        if all(run.state and run.state.is_final() for run in found):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(1)
print(json.dumps([
    {
        "study": study.id,
        "state": run.state.type.value if run.state else None,
        "start": run.start_time.timestamp() if run.start_time else None,
        "end": run.end_time.timestamp() if run.end_time else None,
    }
    for study, run in zip(studies, found)
]))
""".replace("RUN_SECONDS", str(RUN_SECONDS))


# When and where a run happened: these differ between any two runs of a study.
RECORD_COLUMNS = ("run_id", "row_position", "ingested_at", "validated_at", "data_docs_path")


def _result_tables(location: Path | PostgresWarehouse, study_id: str) -> dict[str, pd.DataFrame]:
    """Every result table of the study's one estimation run, without the record columns."""
    tables = {}
    with connect(location, read_only=True) as connection:
        for name in RESULT_TABLES:
            frame = connection.execute(
                f"SELECT * FROM {name} WHERE study_id = ? ORDER BY row_position", [study_id]
            ).fetch_df()
            tables[name] = frame.drop(columns=[c for c in RECORD_COLUMNS if c in frame.columns])
    return tables


def _identifying_values(study_file: Path) -> set[str]:
    """The values of the study's identifying columns in its raw files (what must not leak)."""
    study = load_study(study_file)
    values: set[str] = set()
    for path in sorted(study.inbox.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                values.update(row[column] for column in study.pii if row.get(column))
    return values


def test_two_studies_run_at_once_by_a_worker_on_postgresql_estimate_what_duckdb_does(
    postgres_cluster: PostgresCluster,
    prefect_on_postgres: dict[str, str],
    tmp_path: Path,
) -> None:
    warehouse_url = postgres_cluster.create_database("warehouse")
    on_postgres = _copy_studies(tmp_path / "postgres")
    embedded = _copy_studies(tmp_path / "duckdb")
    leaking = _identifying_values(on_postgres[0])
    assert len(leaking) > 1000  # names, phones and GPS points of the example's interviews
    team = {
        **prefect_on_postgres,
        "TRUSTSHIFT_PSEUDONYM_KEY": KEY,
        "TRUSTSHIFT_WAREHOUSE_URL": warehouse_url,
    }
    subprocess.run(
        [sys.executable, "-m", "prefect", "work-pool", "create", POOL, "--type", "process"],
        env=team,
        check=True,
        capture_output=True,
        timeout=120,
    )
    worker_log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--limit", "2"],
        env=team,
        cwd=tmp_path,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.monotonic()
        deployed = subprocess.run(
            [sys.executable, "-c", DEPLOY_AND_RUN, POOL, json.dumps(PARAMETERS)]
            + [str(path) for path in on_postgres],
            env=team,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS + 120,
        )
        concurrent_seconds = time.monotonic() - started
    finally:
        _stop(worker)
        worker_log.close()
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    runs = json.loads(deployed.stdout.strip().splitlines()[-1])
    assert [run["state"] for run in runs] == ["COMPLETED", "COMPLETED"], (
        tmp_path / "worker.log"
    ).read_text()[-5000:]
    # The two flow runs overlapped: the worker ran them at the same time.
    assert max(run["start"] for run in runs) < min(run["end"] for run in runs)

    embedded_environment = {**prefect_on_postgres, "TRUSTSHIFT_PSEUDONYM_KEY": KEY}
    started = time.monotonic()
    for study_file in embedded:
        ran = subprocess.run(
            [
                str(Path(sys.executable).parent / "trustshift"),
                *("run", str(study_file)),
                *("--bootstrap-draws", str(PARAMETERS["bootstrap_draws"])),
                *("--seed", str(PARAMETERS["seed"])),
            ],
            env=embedded_environment,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
        )
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    sequential_seconds = time.monotonic() - started
    print(
        f"two studies on a worker at once (PostgreSQL): {concurrent_seconds:.1f} s; "
        f"one after the other in process (DuckDB file): {sequential_seconds:.1f} s"
    )

    postgres = PostgresWarehouse(warehouse_url)
    compared = 0
    for study_file in embedded:
        study = load_study(study_file)
        duckdb_file = study.root / study.locations.warehouse
        from_postgres = _result_tables(postgres, study.id)
        from_duckdb = _result_tables(duckdb_file, study.id)
        assert len(from_postgres["estimates"]) > 0
        for name in RESULT_TABLES:
            pd.testing.assert_frame_equal(
                from_postgres[name], from_duckdb[name], check_exact=True, obj=name
            )
            compared += len(from_postgres[name])
    assert compared > 1000

    dump = subprocess.run(
        [
            *postgres_cluster.as_owner,
            str(postgres_cluster.bin / "pg_dump"),
            *("-h", "127.0.0.1", "-p", str(postgres_cluster.port), "-U", "trustshift"),
            *("--data-only", "warehouse"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout.decode("utf-8")
    assert "Kolda" in dump  # the dump holds the stored waves (the example's regions)
    found = sorted(value for value in leaking if value in dump)
    assert found == [], f"{len(found)} identifying values reached PostgreSQL"
    assert KEY not in dump
