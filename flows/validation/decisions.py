"""Decisions on quarantined rows: list them, release them or confirm them, each recorded."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd

from flows.errors import StudyFileError
from flows.privacy import pseudonym_key, pseudonymise
from flows.study import Study
from flows.validation.storage import create_validation_tables
from flows.warehouse import WarehouseConnection, has_table

Decision = Literal["release", "confirm"]

# The key of a quarantined row is its submission id, or (without one) its row in a version:
# coalesce(q.submission, 'v' || q.version || ':row ' || q.row_number), as in the
# analysable_interviews view.
LATEST_DECISIONS = (
    "SELECT wave, key, decision, decided_by, decided_at, reason_text FROM ("
    "SELECT wave, submission AS key, coalesce(decision, 'release') AS decision, decided_by, "
    "decided_at, reason_text, row_number() OVER (PARTITION BY wave, submission ORDER BY "
    "decided_at DESC) AS decision_rank FROM quarantine_releases WHERE study_id = ?"
    ") AS ranked WHERE decision_rank = 1"
)
LATEST_RELEASES = LATEST_DECISIONS.replace("coalesce(decision, 'release')", "'release'")
ID_COLUMNS = ("submission", "key", "id", "_uuid")


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Which quarantined rows a decision covers: by wave, by check, by ids, or all."""

    wave: str | None = None
    check: str | None = None
    ids: tuple[str, ...] | None = None


def quarantined_rows(
    connection: WarehouseConnection, study: Study, selection: Selection = Selection()
) -> pd.DataFrame:
    """One row per quarantined interview of the stored versions: its key, checks, reasons and
    the latest decision (``pending`` when none). Reads only (a read-only connection will do)."""
    columns = ["wave", "key", "row_number", "checks", "reasons", "decision"]
    if not has_table(connection, "quarantine") or not has_table(connection, "quarantine_releases"):
        return pd.DataFrame(columns=columns)
    stored = [
        row[0]
        for row in connection.execute("SELECT * FROM quarantine_releases LIMIT 0").description
    ]
    frame = connection.execute(
        "SELECT q.wave, coalesce(q.submission, 'v' || q.version || ':row ' || q.row_number) "
        "AS key, q.row_number, "
        "string_agg(DISTINCT q.check_name, ', ' ORDER BY q.check_name) AS checks, "
        "string_agg(q.check_name || ': ' || q.reason, '; ' ORDER BY q.check_name) AS reasons "
        "FROM quarantine q JOIN waves w USING (study_id, wave, version) "
        "WHERE q.study_id = ? AND w.status = 'stored' "
        "GROUP BY q.wave, q.submission, q.version, q.row_number ORDER BY q.wave, q.row_number",
        [study.id],
    ).fetch_df()
    latest = connection.execute(
        # Releases recorded before decisions could confirm a row have no decision column.
        (LATEST_DECISIONS if "decision" in stored else LATEST_RELEASES),
        [study.id],
    ).fetch_df()
    frame = frame.merge(latest, on=["wave", "key"], how="left")
    frame["decision"] = frame["decision"].fillna("pending")
    if selection.wave is not None:
        frame = frame[frame["wave"] == selection.wave]
    if selection.check is not None:
        frame = frame[frame["checks"].str.split(", ").map(lambda c: selection.check in c)]
    if selection.ids is not None:
        frame = frame[frame["key"].isin(_matching_ids(study, selection.ids))]
    return frame.reset_index(drop=True)


def released_rows(connection: WarehouseConnection, study: Study) -> pd.DataFrame:
    """The quarantined interviews of the stored versions whose latest decision is a release:
    wave, file row, the checks that flagged them and when they were released. The decision's
    free-text reason and who decided are left out: they are the evaluator's notes, which may
    name people, and the report shows this table."""
    columns = ["wave", "row_number", "checks", "decided_at"]
    decided = quarantined_rows(connection, study)
    released = decided[decided["decision"] == "release"]
    if released.empty:
        return pd.DataFrame(columns=columns)
    return released[columns].reset_index(drop=True)


def _matching_ids(study: Study, ids: tuple[str, ...]) -> set[str]:
    """The ids as given and, for a submission read from the respondent's column (stored as a
    pseudonym), their pseudonyms."""
    from flows.ingest import id_roles

    keys = set(ids)
    if "submission" in id_roles(study):
        key = pseudonym_key(study.id, study.archive)
        keys |= set(pseudonymise(pd.Series(list(ids), dtype="string"), key).dropna())
    return keys


def read_id_sheet(path: Path) -> tuple[str, ...]:
    """Ids from a CSV corrections sheet: the first column named submission, key, id or _uuid."""
    if not path.is_file():
        raise StudyFileError(f"read_id_sheet: no file at {str(path)!r}. Give the CSV of ids.")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [name.strip() for name in reader.fieldnames or []]
        column = next((name for name in ID_COLUMNS if name in fields), None)
        if column is None:
            raise StudyFileError(
                f"read_id_sheet: {path.name} has no id column; found {fields[:10]}. Name the "
                f"column of ids one of {list(ID_COLUMNS)} (the key shown by "
                "`trustshift quarantine list`)."
            )
        return tuple(
            str(row[column]).strip()
            for row in reader
            if row.get(column) and str(row[column]).strip()
        )


def decide(
    connection: WarehouseConnection,
    study: Study,
    *,
    decision: Decision,
    selection: Selection,
    reason_text: str,
    decided_by: str,
) -> int:
    """Record ``decision`` (release: analyse the row after all; confirm: keep it out) for every
    selected quarantined row; returns how many. Nothing is deleted; the latest decision
    counts."""
    create_validation_tables(connection)
    if not reason_text.strip() or not decided_by.strip():
        raise StudyFileError(
            "decide: a decision needs a reason and who took it; found "
            f"reason={reason_text!r}, by={decided_by!r}. Pass --reason and --by."
        )
    rows = quarantined_rows(connection, study, selection)
    if rows.empty:
        raise StudyFileError(
            f"decide: no quarantined row of study {study.id!r} matches the selection "
            f"(wave={selection.wave!r}, check={selection.check!r}, "
            f"{0 if selection.ids is None else len(selection.ids)} id(s)). See "
            "`trustshift quarantine list`."
        )
    now = datetime.now()
    connection.executemany(
        "INSERT INTO quarantine_releases (study_id, wave, submission, reason_text, decided_by, "
        "decided_at, decision) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (study.id, wave, key, reason_text, decided_by, now, decision)
            for wave, key in zip(rows["wave"], rows["key"], strict=True)
        ],
    )
    return len(rows)
