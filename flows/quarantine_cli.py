"""`trustshift quarantine list|release|confirm`: decisions on quarantined rows from the CLI."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.errors import StudyFileError

console = Console(soft_wrap=True)

StudyOption = Annotated[Path, typer.Argument(help="The study file or its folder.")]
WaveOption = Annotated[str | None, typer.Option("--wave", help="Only this wave.")]
CheckOption = Annotated[str | None, typer.Option("--check", help="Only rows failing this check.")]
IdsOption = Annotated[
    Path | None,
    typer.Option(
        "--ids", help="A CSV with a column submission, key or id (a field team's corrections)."
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded with the decision).")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who decides (default: the user).")]
AllOption = Annotated[bool, typer.Option("--all", help="Every quarantined row selected.")]


def _selection(wave: str | None, check: str | None, ids: Path | None, every: bool) -> object:
    from flows.validation.decisions import Selection, read_id_sheet

    if wave is None and check is None and ids is None and not every:
        raise StudyFileError(
            "trustshift quarantine: name the rows the decision covers: --wave, --check, "
            "--ids FILE.csv, or --all for every quarantined row."
        )
    return Selection(wave=wave, check=check, ids=read_id_sheet(ids) if ids else None)


def list_rows(study_file: StudyOption, wave: WaveOption = None, check: CheckOption = None) -> None:
    """Show each quarantined row: wave, key, checks, reasons and the latest decision."""
    from flows.study import load_study
    from flows.validation.decisions import Selection, quarantined_rows
    from flows.warehouse import connect, warehouse_path

    study = load_study(study_file)
    with connect(warehouse_path(study)) as connection:
        rows = quarantined_rows(connection, study, Selection(wave=wave, check=check))
    table = Table(title=f"{study.id}: {len(rows)} quarantined row(s)")
    for column in ("wave", "key", "checks", "reasons", "decision"):
        table.add_column(column)
    for row in rows.itertuples(index=False):
        table.add_row(
            *(str(value) for value in (row.wave, row.key, row.checks, row.reasons)),
            str(row.decision),
        )
    console.print(table)


def _decide(
    decision: str, study_file: Path, selection: object, reason: str, by: str | None
) -> None:
    from flows.study import load_study
    from flows.validation.decisions import Selection, decide
    from flows.warehouse import connect, warehouse_path

    study = load_study(study_file)
    if not isinstance(selection, Selection):
        raise TypeError(f"_decide: selection must be a Selection; got {type(selection).__name__}")
    with connect(warehouse_path(study)) as connection:
        count = decide(
            connection,
            study,
            decision="release" if decision == "release" else "confirm",
            selection=selection,
            reason_text=reason,
            decided_by=by or getpass.getuser(),
        )
    verb = "released (analysed from the next run on)" if decision == "release" else "confirmed"
    console.print(f"{count} quarantined row(s) {verb}.", highlight=False)


def release(
    study_file: StudyOption,
    reason: ReasonOption,
    wave: WaveOption = None,
    check: CheckOption = None,
    ids: IdsOption = None,
    every: AllOption = False,
    by: ByOption = None,
) -> None:
    """Analyse the selected quarantined rows after all (recorded with who, when and why)."""
    _decide("release", study_file, _selection(wave, check, ids, every), reason, by)


def confirm(
    study_file: StudyOption,
    reason: ReasonOption,
    wave: WaveOption = None,
    check: CheckOption = None,
    ids: IdsOption = None,
    every: AllOption = False,
    by: ByOption = None,
) -> None:
    """Keep the selected rows out of the analysis (undoes a release; recorded)."""
    _decide("confirm", study_file, _selection(wave, check, ids, every), reason, by)


def register(
    app: typer.Typer, reported: Callable[[Callable[..., None]], Callable[..., None]]
) -> None:
    """Add `trustshift quarantine` (its three commands wrapped in the CLI's error reporting)."""
    group = typer.Typer(
        help="List quarantined rows and record decisions on them (release or confirm).",
        no_args_is_help=True,
    )
    group.command("list")(reported(list_rows))
    group.command("release")(reported(release))
    group.command("confirm")(reported(confirm))
    app.add_typer(group, name="quarantine")
