"""A served study picks up a wave dropped into its inbox with no other action (real server)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flows.ingest import ingest_wave
from flows.study import load_study
from flows.warehouse import query, warehouse_path
from tests.flows.orchestration.conftest import drop_in, set_aside

SERVER_START_SECONDS = 90
RUN_SECONDS = 120


def call_api(url: str, payload: object | None = None) -> object:
    """GET (or POST the JSON payload to) a Prefect API endpoint; returns the decoded JSON."""
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read().decode("utf-8"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`prefect server start` on loopback with its own PREFECT_HOME; yields the environment
    that points a client at it, and stops the server at the end."""
    port = free_port()
    environment = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    }
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                call_api(f"http://127.0.0.1:{port}/api/health")
                break
            except (urllib.error.URLError, OSError, ValueError):
                pass  # not listening yet: poll again until the deadline
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "prefect server did not start: " + (tmp_path / "server.log").read_text()
                )
            time.sleep(0.5)
        yield environment
    finally:
        stop(server)
        log.close()


def finished_flow_runs(api_url: str) -> list[dict[str, object]]:
    terminal = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}}
    found = call_api(f"{api_url}/flow_runs/filter", terminal)
    return list(found) if isinstance(found, list) else []


@pytest.mark.integration
@pytest.mark.slow
def test_a_wave_dropped_into_a_served_inbox_refreshes_the_estimates(
    small_study: Callable[..., Path], prefect_server: dict[str, str], tmp_path: Path
) -> None:
    study_file = small_study()
    endline = set_aside(study_file, "endline.csv", tmp_path / "aside")
    study = load_study(study_file)
    ingest_wave(study, study.inbox / "baseline.csv")
    serve_log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from flows.orchestration.commands import serve_studies; "
            "serve_studies([Path(sys.argv[1])], cron=None, poll_seconds=0.5, limit=1)",
            str(study_file),
        ],
        env={**prefect_server, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"},
        stdout=serve_log,
        stderr=subprocess.STDOUT,
    )
    api_url = prefect_server["PREFECT_API_URL"]
    try:
        deadline = time.monotonic() + 30
        deployments: list[dict[str, object]] = []
        while time.monotonic() < deadline and not deployments:
            time.sleep(0.5)
            found = call_api(f"{api_url}/deployments/filter", {})
            deployments = list(found) if isinstance(found, list) else []
        assert [d["name"] for d in deployments] == [study.id]

        drop_in(endline, study.inbox)

        deadline = time.monotonic() + RUN_SECONDS
        runs: list[dict[str, object]] = []
        while time.monotonic() < deadline and not runs:
            time.sleep(1)
            runs = finished_flow_runs(api_url)
        assert runs, "no run started: " + (tmp_path / "serve.log").read_text()[-3000:]
        assert [run["state_type"] for run in runs] == ["COMPLETED"]
    finally:
        stop(server)
        serve_log.close()

    waves = query(
        warehouse_path(study),
        "SELECT wave FROM waves WHERE study_id = ? AND status = 'stored' ORDER BY wave_order",
        [study.id],
    )
    assert waves["wave"].tolist() == ["baseline", "endline"]
    runs_table = query(
        warehouse_path(study),
        "SELECT run_id, kind, status FROM runs WHERE study_id = ? ORDER BY started_at",
        [study.id],
    )
    assert runs_table["kind"].tolist() == ["evaluate-study", "estimate"]
    assert runs_table["status"].tolist() == ["finished", "finished"]
    assert runs_table["run_id"].iloc[0] == runs[0]["id"]
    estimates = query(
        warehouse_path(study),
        "SELECT count(*) AS n FROM estimates WHERE run_id = ?",
        [runs_table["run_id"].iloc[1]],
    )
    assert estimates["n"].iloc[0] > 0
