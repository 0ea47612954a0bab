"""The slow half of the fault-injection suite: kills, concurrent runs, a byte scan, injection.

Run: .venv/bin/python bench/reliability.py [--trials 1] [--keep DIR]

On a simulated study (the example design, 12 communities of 8, three waves, 99 draws):

1. **kills**: each command (`ingest`, `validate`, `estimate`, `report`, `run`) is killed with
   SIGKILL at each of its fault points (``TRUSTSHIFT_FAULT_POINT``, see flows/faults.py:
   mid-transaction, after an export, before the outcome is recorded, ...), then run again.
   Recovered means: the re-run exits 0; no wave is half written (each stored wave's
   interviews equal its rows_stored, one stored version per wave); no ``runs`` row is left
   ``running``; no temporary Prefect server is left listening.
2. **concurrency**: two `trustshift run` at once (the second with --wait: it must reuse the
   first's results, so one estimation), and an `ingest` while an `estimate` holds the study
   (it must fail with the lock message, exit 1, and store nothing).
3. **privacy**: after a full `trustshift run`, every file the run wrote (warehouse, reports,
   exports, Data Docs, re-check lists, the Prefect database, its WAL and logs) and every
   command's captured output is scanned for the planted names, phones, GPS values, raw ids
   and the pseudonym key.
4. **injection**: a study whose title, arm labels, a question and a file name hold HTML, and
   whose submission ids hold spreadsheet formulas, is run; its report must hold none of the
   markup unescaped and its CSV files no live formula.

Prints one line per figure; exits 1 when any check failed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRUSTSHIFT = str(Path(sys.executable).parent / "trustshift")
KEY = "bench-reliability-key-0123456789abcdef"
DRAWS = "99"

KILLS: list[tuple[str, str]] = [
    ("ingest", "ingest-after-archive"),
    ("ingest", "ingest-mid-transaction"),
    ("validate", "validate-before-store"),
    ("estimate", "estimate-after-export"),
    ("estimate", "estimate-mid-transaction"),
    ("report", "report-after-export"),
    ("run", "ingest-mid-transaction"),
    ("run", "run-after-ingest"),
    ("run", "estimate-mid-transaction"),
    ("run", "report-after-export"),
    ("run", "run-before-record"),
]


def command(study: Path, name: str) -> list[str]:
    arguments = {
        "ingest": ["ingest", str(study)],
        "validate": ["validate", str(study)],
        "estimate": ["estimate", str(study), "--bootstrap-draws", DRAWS],
        "report": ["report", str(study)],
        "run": ["run", str(study), "--bootstrap-draws", DRAWS],
    }[name]
    return [TRUSTSHIFT, *arguments]


def environment(study: Path, fault: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "TRUSTSHIFT_PSEUDONYM_KEY_EXAMPLE": KEY,
        "PREFECT_HOME": str(study.parent / ".prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    env.pop("PREFECT_API_URL", None)
    env.pop("TRUSTSHIFT_FAULT_POINT", None)
    if fault:
        env["TRUSTSHIFT_FAULT_POINT"] = fault
    return env


OUTPUT: list[str] = []


def call(study: Path, name: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command(study, name),
        capture_output=True,
        text=True,
        env=environment(study, fault),
        timeout=900,
        check=False,
    )
    OUTPUT.append(done.stdout + done.stderr)
    return done


def simulate(folder: Path, *, study_file: Path | None = None) -> Path:
    arguments = [TRUSTSHIFT, "simulate", "--out", str(folder), "--clusters", "12"]
    arguments += ["--respondents", "8"]
    if study_file is not None:
        arguments += ["--study", str(study_file)]
    subprocess.run(arguments, check=True, capture_output=True, env=environment(folder))
    study = folder / "study.toml"
    # In 12 communities the simulator's fabricating enumerator covers more than the default
    # 20% of a wave, which stops the wave (quality.maximum_quarantine_share); this suite
    # kills commands that must get past validation, so it lets those planted faults through.
    text = study.read_text(encoding="utf-8")
    if "maximum_quarantine_share" not in text:
        text = text.replace("[quality]\n", "[quality]\nmaximum_quarantine_share = 0.6\n", 1)
        study.write_text(text, encoding="utf-8")
    return study


def query(study: Path, sql: str) -> list[tuple[object, ...]]:
    import duckdb

    database = study.parent / "warehouse" / "trustshift.duckdb"
    if not database.exists():
        return []
    connection = duckdb.connect(str(database), read_only=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def guarded_servers() -> set[int]:
    """Pids of temporary Prefect servers (uvicorn create_app) running now."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # Only servers of this environment: other checkouts on the machine run their own.
        if b"prefect.server.api.server:create_app" in line and sys.prefix.encode() in line:
            found.add(int(entry.name))
    return found


def consistent(study: Path) -> list[str]:
    """What is wrong with the warehouse after a re-run (empty when nothing)."""
    problems = []
    for wave, stored, rows in query(
        study,
        "SELECT w.wave, count(*), max(w.rows_stored) FROM waves w WHERE w.status = 'stored' "
        "GROUP BY w.wave",
    ):
        if stored != 1:
            problems.append(f"wave {wave} stored {stored} times")
        interviews = query(
            study,
            f"SELECT count(*) FROM interviews i JOIN waves w USING (study_id, wave, version) "
            f"WHERE w.status = 'stored' AND i.wave = '{wave}'",
        )[0][0]
        if interviews != rows:
            problems.append(f"wave {wave}: {interviews} interviews for {rows} rows stored")
    running = query(study, "SELECT count(*) FROM runs WHERE status = 'running'")
    if running and running[0][0]:
        problems.append(f"{running[0][0]} run(s) left running")
    return problems


def prepare(base: Path, work: Path, stage: str) -> Path:
    """A copy of the simulated study brought to the stage before the killed command."""
    shutil.copytree(base, work)
    study = work / "study.toml"
    if stage in ("validate", "estimate", "report"):
        call(study, "ingest")
    if stage in ("estimate", "report"):
        call(study, "validate")
    if stage == "report":
        call(study, "estimate")
    return study


def kills(base: Path, scratch: Path, trials: int) -> tuple[int, int, list[str]]:
    recovered = total = 0
    notes: list[str] = []
    for trial in range(trials):
        for name, point in KILLS:
            total += 1
            study = prepare(base, scratch / f"kill-{trial}-{name}-{point}", name)
            servers_before = guarded_servers()
            killed = call(study, name, fault=point)
            again = call(study, name)
            time.sleep(1.0)
            leftover = guarded_servers() - servers_before
            problems = consistent(study)
            if killed.returncode != -signal.SIGKILL:
                problems.append(f"not killed (exit {killed.returncode})")
            # 1 is a data-quality outcome (a simulated wave may fail a structural check).
            if again.returncode not in (0, 1) or "unexpected error" in again.stderr:
                problems.append(f"re-run exit {again.returncode}: {again.stderr[-300:]}")
            if leftover:
                problems.append(f"{len(leftover)} temporary server(s) left listening")
            if problems:
                notes.append(f"{name} killed at {point}: " + "; ".join(problems))
            else:
                recovered += 1
    return recovered, total, notes


def concurrency(base: Path, scratch: Path) -> tuple[int, int, list[str]]:
    clean = 0
    notes: list[str] = []
    study = prepare(base, scratch / "two-runs", "run")
    first = subprocess.Popen(command(study, "run"), env=environment(study), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    lock = study.parent / ".trustshift.lock"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.1)  # the second run starts once the first holds the study
    second = subprocess.run([*command(study, "run"), "--wait"], env=environment(study),
                            capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    out, err = first.communicate(timeout=900)
    OUTPUT.extend([out + err, second.stdout + second.stderr])
    estimations = query(study, "SELECT count(*) FROM runs WHERE kind = 'estimate'")[0][0]
    runs = query(study, "SELECT count(*) FROM runs WHERE kind = 'evaluate-study'")[0][0]
    # The queued run finds the first one's work done: two recorded runs, one estimation (an
    # exit of 1 is a data-quality outcome: a simulated wave may fail a structural check).
    refused = "another trustshift command holds" in second.stderr
    if (
        {first.returncode, second.returncode} <= {0, 1}
        and not refused
        and (runs, estimations)
        == (
            2,
            1,
        )
    ):
        clean += 1
    else:
        notes.append(
            f"two runs: exits {first.returncode}/{second.returncode}, {runs} runs recorded, "
            f"{estimations} estimations"
        )
    work = scratch / "ingest-during-estimate"
    shutil.copytree(base, work)
    study = work / "study.toml"
    extra = work / "inbox" / "follow_up.csv"
    held = extra.rename(work / "follow_up.csv")
    call(study, "ingest")
    call(study, "validate")
    lock = work / ".trustshift.lock"
    estimating = subprocess.Popen(command(study, "estimate"), env=environment(study), text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.1)
    held.rename(extra)
    during = call(study, "ingest")
    out, err = estimating.communicate(timeout=900)
    OUTPUT.append(out + err)
    waves = query(study, "SELECT count(*) FROM waves WHERE wave = 'follow_up'")[0][0]
    lock_message = "another trustshift command holds study folder" in during.stderr
    if estimating.returncode == 0 and during.returncode == 1 and lock_message and waves == 0:
        clean += 1
    else:
        notes.append(
            f"ingest during estimate: exits {during.returncode}/{estimating.returncode}, "
            f"follow_up stored {waves} time(s), lock message {lock_message}"
        )
    return clean, 2, notes


def planted_values(study: Path) -> set[str]:
    values: set[str] = {KEY}
    for path in (study.parent / "inbox").glob("*.csv"):
        with path.open(encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                for column in ("respondent_name", "phone", "gps_latitude", "gps_longitude"):
                    if row.get(column):
                        values.add(row[column])
                if len(row.get("respondent_id") or "") >= 6:
                    values.add(row["respondent_id"])
    return values


def privacy(base: Path, scratch: Path) -> tuple[int, int, int]:
    study = prepare(base, scratch / "privacy", "run")
    planted = planted_values(study)
    call(study, "run")
    call(study, "validate")
    hits = scanned = 0
    for path in study.parent.rglob("*"):
        # inbox/, raw/ and the simulator's truth/ are inputs: the only zone allowed to hold
        # identifying data.
        if not path.is_file() or path.parts[len(study.parent.parts)] in ("inbox", "raw", "truth"):
            continue
        if path.name == "study.toml":
            continue
        scanned += 1
        data = path.read_bytes()
        hits += sum(1 for value in planted if value.encode("utf-8") in data)
    captured = "\n".join(OUTPUT)
    hits += sum(1 for value in planted if value in captured)
    return hits, scanned, len(planted)


HOSTILE = "<script>alert('x')</script>"


def injection(scratch: Path) -> tuple[int, list[str]]:
    source = (ROOT / "data" / "studies" / "example" / "study.toml").read_text(encoding="utf-8")
    hostile = source.replace(
        'title = "Returnee-led town halls on irregular migration (simulated example)"',
        f'title = "Town halls {HOSTILE} <img src=x onerror=alert(1)>"',
    ).replace(
        'treatment = ["campaign"], comparison = ["comparison"]',
        'treatment = ["campaign<b>"], comparison = ["comparison&<i>"]',
    )
    folder = scratch / "injection"
    folder.mkdir()
    (folder / "template.toml").write_text(hostile, encoding="utf-8")
    study = simulate(folder, study_file=folder / "template.toml")
    inbox = folder / "inbox"
    for path in inbox.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        position = rows[0].index("_uuid")
        for row in rows[1:4]:
            row[position] = '=HYPERLINK("http://evil.example","x")'
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    (inbox / "endline.csv").rename(inbox / "endline<svg onload=alert(1)>.csv")
    done = call(study, "run")
    findings = []
    reports = list((folder / "reports").rglob("report.html"))
    if not reports:
        findings.append(f"no report (exit {done.returncode}): {done.stderr[-300:]}")
    for report in reports:
        page = report.read_text(encoding="utf-8")
        for markup in (HOSTILE, "<img src=x", "<svg onload", "campaign<b>", "<i>"):
            if markup in page:
                findings.append(f"{markup!r} unescaped in {report.name}")
    for exported in folder.rglob("*.csv"):
        if exported.parts[len(folder.parts)] in ("inbox", "raw"):
            continue
        for row in csv.reader(io.StringIO(exported.read_text(encoding="utf-8"))):
            live = [cell for cell in row if cell.startswith(("=", "+", "@"))]
            findings.extend(f"live formula in {exported.name}: {cell[:20]!r}" for cell in live)
    return len(findings), findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument(
        "--parts",
        default="kills,concurrency,privacy,injection",
        help="comma-separated parts to run (default: all)",
    )
    parser.add_argument(
        "--kills", default="", help="only these kills, as command:point pairs (default: all)"
    )
    options = parser.parse_args()
    parts = set(options.parts.split(","))
    if options.kills:
        chosen = {tuple(pair.split(":", 1)) for pair in options.kills.split(",")}
        KILLS[:] = [kill for kill in KILLS if kill in chosen]
    scratch = Path(tempfile.mkdtemp(prefix="trustshift-reliability-"))
    try:
        base = scratch / "base"
        simulate(base)
        recovered = total = clean = trials = hits = injected = 0
        if "kills" in parts:
            started = time.monotonic()
            recovered, total, kill_notes = kills(base, scratch, options.trials)
            print(f"kills recovered: {recovered} of {total} ({time.monotonic() - started:.0f} s)")
            for note in kill_notes:
                print(f"  {note}")
        if "concurrency" in parts:
            clean, trials, concurrency_notes = concurrency(base, scratch)
            print(f"concurrency clean: {clean} of {trials}")
            for note in concurrency_notes:
                print(f"  {note}")
        if "privacy" in parts:
            hits, scanned, planted = privacy(base, scratch)
            print(f"PII hits: {hits} ({scanned} files and all captured output, {planted} values)")
        if "injection" in parts:
            injected, findings = injection(scratch)
            print(f"injections: {injected} unescaped markup or live formulas")
            for finding in findings[:10]:
                print(f"  {finding}")
        print(json.dumps({"kills_recovered": recovered, "kills": total,
                          "concurrency_clean": clean, "concurrency_trials": trials,
                          "pii_hits": hits, "injections": injected}))  # fmt: skip
        return 0 if (recovered == total and clean == trials and not hits and not injected) else 1
    finally:
        if options.keep is not None:
            shutil.copytree(scratch, options.keep, dirs_exist_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
