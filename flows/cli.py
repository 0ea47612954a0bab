"""The `trustshift` command line: exit 0 ok, 1 data-quality failure, 2 usage error."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, ParamSpec, TypeVar, cast

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.bundled import EXAMPLE_STUDY_DIR, TEMPLATES_DIR
from flows.errors import TrustshiftError
from flows.orchestration import process_memory

app = typer.Typer(
    help="Evidence of what an information campaign changed: ingest, validate, estimate, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

EXAMPLE_STUDY = EXAMPLE_STUDY_DIR


class _State:
    debug = False


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """trustshift: honest evidence of what a migration information campaign changed."""
    _State.debug = debug
    # Every command: what one stage (or wave) frees is returned before the next one.
    process_memory.return_freed_memory()


def reported(command: Callable[P, R]) -> Callable[P, R]:
    """Turn trustshift errors into one clear message and an exit code (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except TrustshiftError as error:
            if _State.debug:
                raise
            errors.print(f"[bold red]error:[/] {escape(str(error))}", markup=True, highlight=False)
            raise typer.Exit(error.exit_code) from None
        except (
            typer.Exit,
            click.exceptions.ClickException,
            click.exceptions.Exit,
            click.exceptions.Abort,
        ):
            raise
        except Exception as error:
            if _State.debug:
                raise
            # The library's message is not shown: it may quote a cell of a survey file.
            errors.print(
                f"[bold red]unexpected error[/] ({type(error).__name__}). Re-run with "
                "`trustshift --debug ...` to see the message and where it was raised; check "
                "that output for survey data before you share it.",
                markup=True,
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper


# `trustshift quarantine list|release|confirm` lives in its own module.
from flows.quarantine_cli import register as _register_quarantine  # noqa: E402

_register_quarantine(app, reported)

StudyArgument = Annotated[
    Path, typer.Argument(help="The study file (study.toml) or the folder holding it.")
]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait", help="Queue behind another command holding this study instead of failing."
    ),
]
DrawsOption = Annotated[
    int, typer.Option(min=0, help="Wild cluster bootstrap and randomization draws (0 skips).")
]


def _holding(study_file: Path, purpose: str, wait: bool) -> Any:
    """The study's lock, taken (or waited for) before a command writes the study."""
    from flows.locking import study_lock
    from flows.study import load_study

    return study_lock(load_study(study_file), purpose=purpose, wait=wait)


@app.command()
@reported
def init(
    folder: Annotated[Path, typer.Argument(help="The folder of the new study.")],
    study_id: Annotated[
        str, typer.Option("--id", help="A short id: lowercase letters, digits, underscores.")
    ],
    title: Annotated[str, typer.Option(help="The study's title.")] = "A new evaluation",
    instrument: Annotated[
        str, typer.Option(help="A bundled instrument name or the path to one.")
    ] = "migration_campaign",
    xlsform: Annotated[
        Path | None,
        typer.Option(
            "--xlsform",
            help="An XLSForm (KoboToolbox, ODK, SurveyCTO; .xlsx, .xls, .csv or .md) to "
            "write the study's instrument from.",
        ),
    ] = None,
) -> None:
    """Create a new study (study.toml and an inbox) from an instrument or an XLSForm."""
    from flows.study import load_study

    target = folder / "study.toml"
    if target.exists():
        errors.print(f"{target} already exists; choose another folder or edit that file.")
        raise typer.Exit(2)
    if xlsform is not None:
        _init_from_xlsform(folder, target, xlsform, study_id=study_id, title=title)
        return
    template = (TEMPLATES_DIR / "study.toml").read_text(encoding="utf-8")
    text = (
        template.replace("{id}", study_id)
        .replace("{title}", title.replace('"', "'"))
        .replace("{instrument}", instrument)
    )
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    try:
        study = load_study(target)
    except TrustshiftError:
        target.unlink()
        raise
    study.inbox.mkdir(exist_ok=True)
    console.print(
        f"Created {target}. Edit its column names, then drop survey exports into "
        f"{study.inbox} and run `trustshift run {target}`.",
        highlight=False,
        markup=False,
    )


def _init_from_xlsform(
    folder: Path, target: Path, form: Path, *, study_id: str, title: str
) -> None:
    """Write instrument.toml from an XLSForm and a study file that uses it."""
    from flows.study import load_study
    from flows.xlsform import convert_xlsform, study_toml

    conversion = convert_xlsform(form)
    instrument = folder / "instrument.toml"
    if instrument.exists():
        errors.print(f"{instrument} already exists; choose another folder or remove it.")
        raise typer.Exit(2)
    folder.mkdir(parents=True, exist_ok=True)
    instrument.write_text(conversion.instrument_toml, encoding="utf-8")
    target.write_text(
        study_toml(conversion, study_id=study_id, title=title, instrument_file=instrument.name),
        encoding="utf-8",
    )
    try:
        study = load_study(target)
    except TrustshiftError:
        target.unlink()
        instrument.unlink()
        raise
    study.inbox.mkdir(exist_ok=True)
    console.print(
        f"Created {instrument} ({len(conversion.item_names)} items, "
        f"{len(conversion.skip_rules)} skip-logic checks) and {target}. "
        f"{len(conversion.untranslated)} part(s) of the form were not translated (listed at "
        "the top of the study file). Fill in its column roles and design, then drop survey "
        f"exports into {study.inbox}.",
        highlight=False,
        markup=False,
    )


@app.command()
@reported
def ingest(
    study_file: StudyArgument,
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Wave files; by default every file in the study's inbox."),
    ] = None,
    wave: Annotated[
        str | None, typer.Option(help="The wave these files hold, if neither file nor name says.")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a stored wave with a different file.")
    ] = False,
    wait: WaitOption = False,
) -> None:
    """Read survey waves, strip identifying columns and store them in the warehouse."""
    from flows.ingest import ingest_wave
    from flows.orchestration.inbox import inbox_files
    from flows.study import load_study
    from flows.warehouse import warehouse_path

    study = load_study(study_file)
    paths = list(files) if files else inbox_files(study.inbox)
    if not paths:
        errors.print(f"No wave files in {study.inbox}. Drop survey exports there or name them.")
        raise typer.Exit(2)
    with _holding(study_file, "ingest", wait):
        for path in paths:
            outcome = ingest_wave(study, path, wave=wave, replace=replace)
            console.print(outcome.message, highlight=False, markup=False)
    console.print(f"Warehouse: {warehouse_path(study)}", highlight=False, markup=False)


@app.command()
@reported
def status(study_file: StudyArgument) -> None:
    """Show what the warehouse holds for a study."""
    from flows.status import study_status
    from flows.study import load_study
    from flows.warehouse import warehouse_path

    study = load_study(study_file)
    table = Table(title=f"{study.id}: {study.title}")
    current = study_status(study)
    for column in current.waves.columns:
        table.add_column(column)
    for values in current.waves.astype(str).itertuples(index=False):
        table.add_row(*(escape(str(value)) for value in values))
    console.print(table)
    if current.last_run is not None:
        last = current.last_run
        console.print(
            f"Last run: {last['run_id']} ({last['kind']}, {last['status']}, {last['started_at']}"
            f"); report: {last['report']}" + (f"; {last['message']}" if last["message"] else ""),
            highlight=False,
            markup=False,
        )
    else:
        console.print("Last run: none yet", highlight=False, markup=False)
    console.print(f"Warehouse: {warehouse_path(study)}", highlight=False, markup=False)


@app.command()
@reported
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the study into.")] = Path(
        "work/simulated"
    ),
    study_file: Annotated[
        Path, typer.Option("--study", help="The study file whose design to simulate.")
    ] = EXAMPLE_STUDY / "study.toml",
    formats: Annotated[
        str,
        typer.Option(
            help=(
                "csv, xlsx, sav, dta or kobo; several (comma-separated) are used in turn, one "
                "per wave, like a study whose waves came from different teams; or explicit "
                "pairs such as baseline=sav,endline=kobo."
            )
        ),
    ] = "csv",
    seed: Annotated[int, typer.Option(help="Seed of the random generator.")] = 20261130,
    clusters: Annotated[int, typer.Option(help="Number of communities.")] = 40,
    respondents: Annotated[int, typer.Option(help="Respondents per community.")] = 20,
    sampling: Annotated[
        str | None, typer.Option(help="panel or repeated_cross_section (default: the study's).")
    ] = None,
) -> None:
    """Simulate a study with known effects and field faults, with a truth file beside it."""
    from flows.simulation import (
        WAVE_FORMATS,
        SimulationSettings,
        simulate_study,
        write_simulated_study,
    )
    from flows.study import load_study

    study = load_study(study_file)
    chosen = [name.strip() for name in formats.split(",") if name.strip()]
    if any("=" in name for name in chosen):
        per_wave = dict(name.split("=", 1) for name in chosen)
    else:
        per_wave = {wave: chosen[i % len(chosen)] for i, wave in enumerate(study.wave_names)}
    if sampling not in (None, "panel", "repeated_cross_section"):
        errors.print(f"--sampling {sampling!r}: choose panel or repeated_cross_section.")
        raise typer.Exit(2)
    settings = SimulationSettings(
        seed=seed,
        n_clusters=clusters,
        respondents_per_cluster=respondents,
        sampling=cast(Literal["panel", "repeated_cross_section"] | None, sampling),
    )
    simulated = simulate_study(study, settings)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(study.path, out / "study.toml")
    unknown = sorted(set(per_wave) - set(study.wave_names))
    bad = sorted(set(per_wave.values()) - set(WAVE_FORMATS))
    if unknown or bad:
        errors.print(
            f"--formats {formats!r}: unknown waves {unknown} or formats {bad}; the study's waves "
            f"are {study.wave_names} and the formats {list(WAVE_FORMATS)}."
        )
        raise typer.Exit(2)
    written = write_simulated_study(simulated, out / study.locations.inbox, formats=per_wave)
    for wave, paths in written.items():
        if paths:
            console.print(
                f"  {wave}: {', '.join(path.name for path in paths)}", highlight=False, markup=False
            )
    console.print(f"Simulated study written to {out}", highlight=False, markup=False)


DEMO_MARKER = ".trustshift-demo"


def _prepare_demo_folder(workdir: Path) -> None:
    """Empty the demo folder, deleting only a folder an earlier demo made (it holds the marker)."""
    if workdir.is_dir() and (workdir / DEMO_MARKER).is_file():
        shutil.rmtree(workdir)
    elif workdir.exists() and not (workdir.is_dir() and not any(workdir.iterdir())):
        errors.print(
            f"demo: --workdir {workdir} exists and was not made by `trustshift demo` "
            f"(it has no {DEMO_MARKER} file), so it is left untouched. Choose a new or empty "
            "folder, for example `--workdir work/demo`.",
            highlight=False,
        )
        raise typer.Exit(2)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / DEMO_MARKER).write_text(
        "Made by `trustshift demo`; the next demo with this --workdir deletes this folder.\n",
        encoding="utf-8",
    )


@app.command()
@reported
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the demo study is built.")] = Path(
        "work/demo"
    ),
    bootstrap_draws: Annotated[
        int | None,
        typer.Option(min=0, help="Bootstrap and randomization draws (default 9,999)."),
    ] = None,
) -> None:
    """Run the pipeline end to end on the bundled example study, from scratch."""
    import os

    from flows.simulation.example import make_example_study

    _prepare_demo_folder(workdir)
    # Prefect's state outlives the demo folder: a new PREFECT_HOME costs seconds to migrate.
    os.environ.setdefault("PREFECT_HOME", str((workdir.parent / ".prefect").resolve()))
    shutil.copy2(EXAMPLE_STUDY / "study.toml", workdir / "study.toml")
    console.print("Simulating the example study (seeded, as committed in data/studies/example)")
    make_example_study(workdir, study_path=workdir / "study.toml")
    from flows.orchestration.commands import run_study

    code = run_study(workdir / "study.toml", bootstrap_draws=bootstrap_draws, console=console)
    if code:
        raise typer.Exit(code)


@app.command()
@reported
def validate(
    study_file: StudyArgument,
    wave: Annotated[
        str | None, typer.Option(help="Validate this stored wave only (default: every one).")
    ] = None,
    wait: WaitOption = False,
) -> None:
    """Validate stored waves: suites, field-quality checks, quarantine and Data Docs.

    Exits with 1 when a wave fails a structural check (it is then left out of analysis).
    """
    from datetime import UTC, datetime

    from flows import api
    from flows.orchestration.stages import validate_and_store
    from flows.study import load_study

    study = load_study(study_file)
    stored = api.waves(study)
    stored = stored[stored["status"] == "stored"]
    waves = [wave] if wave else stored["wave"].tolist()
    unknown = [name for name in waves if name not in set(stored["wave"])]
    if not waves or unknown:
        errors.print(
            f"No stored wave{f' {unknown}' if unknown else ''} to validate in study "
            f"{study.id!r}; stored: {stored['wave'].tolist()}. Ingest the wave first "
            "(`trustshift ingest`)."
        )
        raise typer.Exit(2)
    run_id = "validate-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    failed = False
    with _holding(study_file, "validate", wait):
        for name in waves:
            validation = validate_and_store(study, name, run_id=run_id)
            failed |= _print_validation(study.root, name, validation)
            del validation
            process_memory.trim_freed_memory()
    raise typer.Exit(1 if failed else 0)


def _print_validation(root: Path, wave: str, validation: object) -> bool:
    """Print one wave's validation; write its re-check list. True on a structural failure."""
    from flows.validation import WaveValidation

    if not isinstance(validation, WaveValidation):
        raise TypeError(f"_print_validation: expected a WaveValidation, got {validation!r}")
    summary = validation.summary
    failing = summary[~summary["success"].astype(bool)]
    quarantined = len(validation.quarantined)
    console.print(
        f"[bold]{wave}[/]: {len(summary)} expectations, {len(failing)} not met, "
        f"{quarantined} interview(s) quarantined.",
        highlight=False,
    )
    if not failing.empty:
        table = Table(show_header=True)
        for column in ("severity", "check", "column", "rows", "percent"):
            table.add_column(column)
        for values in failing[
            ["severity", "check", "column", "unexpected_count", "unexpected_percent"]
        ].itertuples(index=False):
            severity, check, column, count, percent = (str(value) for value in values)
            shown_percent = "" if percent in ("None", "nan") else f"{float(percent):.1f}"
            table.add_row(severity, check, column, count, shown_percent)
        console.print(table)
    _print_enumerators(validation.enumerators, threshold=study_outlier_z(root))
    for message in validation.structural_failures:
        errors.print(f"[bold red]structural:[/] {escape(message)}", highlight=False)
    if not validation.recheck.empty:
        target = root / "recheck" / f"{wave}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        from flows.exports import write_csv

        write_csv(validation.recheck, target)
        console.print(
            f"  re-check list for the field team: {target}", highlight=False, markup=False
        )
    if validation.data_docs_path is not None:
        console.print(f"  Data Docs: {validation.data_docs_path}", highlight=False, markup=False)
    return bool(validation.structural_failures)


def study_outlier_z(root: Path) -> float:
    """The study's enumerator-outlier threshold (|z| beyond it flags an enumerator)."""
    from flows.study import load_study

    return float(load_study(root / "study.toml").quality.enumerator_outlier_z)


def _print_enumerators(enumerators: object, *, threshold: float) -> None:
    """One line per enumerator: interviews, durations, answer patterns; outliers marked."""
    import pandas as pd

    if not isinstance(enumerators, pd.DataFrame) or enumerators.empty:
        return
    table = Table(title="Enumerators (z against their peers)", show_header=True)
    for column in ("enumerator", "n", "median min", "time z", "don't know", "variance z",
                   "near-dup", "flag"):  # fmt: skip
        table.add_column(column)
    scores = ["duration_z", "answer_variance_z", "near_duplicate_z"]
    for row in enumerators.itertuples(index=False):
        flagged = any(abs(float(getattr(row, name) or 0.0)) > threshold for name in scores)
        table.add_row(
            str(row.enumerator),
            str(row.n_interviews),
            f"{row.median_duration_minutes:.1f}",
            f"{row.duration_z:+.1f}",
            f"{row.dont_know_rate:.1%}",
            f"{row.answer_variance_z:+.1f}",
            f"{row.near_duplicate_share:.1%}",
            "[bold red]outlier[/]" if flagged else "",
        )
    console.print(table)


@app.command()
@reported
def estimate(
    study_file: StudyArgument,
    run_id: Annotated[str | None, typer.Option(help="Name of this run (default: new).")] = None,
    bootstrap_draws: DrawsOption = 9999,
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 20261130,
    wait: WaitOption = False,
) -> None:
    """Estimate every pre-specified effect of a study and store the run's result tables."""
    from flows.estimation import estimate_command

    with _holding(study_file, "estimate", wait):
        estimate_command(study_file, run_id=run_id, bootstrap_draws=bootstrap_draws, seed=seed)


@app.command()
@reported
def report(
    study_file: StudyArgument,
    run_id: Annotated[
        str | None, typer.Option(help="The estimation run to report (default: the latest).")
    ] = None,
    wait: WaitOption = False,
) -> None:
    """Write the self-contained HTML report of an estimation run."""
    from flows.report import report_command

    with _holding(study_file, "report", wait):
        report_command(study_file, run_id=run_id)


@app.command()
@reported
def run(
    study_file: StudyArgument,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace stored waves with changed inbox files.")
    ] = False,
    bootstrap_draws: Annotated[
        int | None,
        typer.Option(min=0, help="Bootstrap and randomization draws (default 9,999)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of every random draw.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run the flow even when nothing changed.")
    ] = False,
    wait: WaitOption = False,
) -> None:
    """Run the whole study in process: ingest new waves, validate, estimate, report.

    No server is needed. When nothing changed since the last finished run, its results are
    reused without starting Prefect.
    """
    from flows.orchestration.commands import run_study

    code = run_study(
        study_file,
        replace=replace,
        bootstrap_draws=bootstrap_draws,
        seed=seed,
        force=force,
        wait=wait,
        console=console,
    )
    if code:
        raise typer.Exit(code)


@app.command()
@reported
def serve(
    study_files: Annotated[list[Path], typer.Argument(help="Study files to serve.")],
    cron: Annotated[str, typer.Option(help="Cron schedule of each study's run.")] = "0 6 * * *",
    no_cron: Annotated[bool, typer.Option("--no-cron", help="No schedule.")] = False,
    timezone: Annotated[str | None, typer.Option(help="Time zone of the schedule.")] = None,
    watch: Annotated[
        bool, typer.Option("--watch/--no-watch", help="Start a run when a wave lands.")
    ] = True,
    poll_seconds: Annotated[float, typer.Option(help="How often inboxes are polled.")] = 30.0,
    limit: Annotated[int | None, typer.Option(help="Most runs at once.")] = None,
) -> None:
    """Serve a Prefect deployment per study: on a schedule and when a new wave lands."""
    from flows.orchestration.commands import serve_studies

    serve_studies(
        study_files,
        cron=None if no_cron else cron,
        timezone=timezone,
        watch=watch,
        poll_seconds=poll_seconds,
        limit=limit,
        console=console,
    )


@app.command()
@reported
def watch(
    study_files: Annotated[list[Path], typer.Argument(help="Study files whose inboxes to watch.")],
    poll_seconds: Annotated[float, typer.Option(help="How often inboxes are polled.")] = 30.0,
) -> None:
    """Watch inboxes and tell the Prefect server when a wave lands (for worker set-ups)."""
    from flows.orchestration.commands import watch_studies

    watch_studies(study_files, poll_seconds=poll_seconds, console=console)


@app.command()
def version() -> None:
    """Print the version."""
    from importlib.metadata import version as distribution_version

    console.print(distribution_version("trustshift"))


# Synthesis across studies (issue 15): the commands live in flows/synthesis/commands.py.
def _register_synthesis_commands() -> None:
    from flows.synthesis.commands import simulate_synthesis, synthesize

    app.command(name="synthesize")(reported(synthesize))
    app.command(name="simulate-synthesis")(reported(simulate_synthesis))


_register_synthesis_commands()


def _register_design_stage() -> None:
    """`trustshift design`, `assign` and `plan` live in flows.planning_cli."""
    from flows.planning_cli import register

    register(app, reported)


_register_design_stage()
