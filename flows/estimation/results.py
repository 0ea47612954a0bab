"""The result store: the result tables of each run in the warehouse, run ids and exports."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from flows import api
from flows.estimation.conclusions import EVIDENCE_COLUMNS
from flows.estimation.errors import EstimationError
from flows.exports import withhold_small_cells, write_csv
from flows.study import Study
from flows.warehouse import WarehouseConnection, connect, has_table, insert_frame, warehouse_path
from measurement.attrition import ATTRITION_COLUMNS
from measurement.balance import BALANCE_COLUMNS
from measurement.change import CHANGE_COLUMNS
from measurement.descriptives import DESCRIPTIVE_COLUMNS, MISSING_COLUMNS
from measurement.heterogeneity import HETEROGENEITY_COLUMNS
from measurement.indices import INDEX_COMPONENT_COLUMNS
from measurement.propensity import WEIGHTED_BALANCE_COLUMNS
from measurement.reliability import RELIABILITY_COLUMNS
from measurement.study_effects import EFFECT_COLUMNS

RUN_KIND = "estimate"

_TEXT, _INT, _FLOAT, _BOOL, _TIME = "VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP"

# Every result table: name -> (column, DuckDB type); run_id and study_id come first in each.


def _typed(
    columns: Sequence[str], *, text: Sequence[str] = (), boolean: Sequence[str] = ()
) -> tuple[tuple[str, str], ...]:
    """DuckDB types for a measurement table's columns: the named text and boolean columns,
    counts (``n_...``) as integers, every other column a double."""
    return tuple(
        (
            name,
            _TEXT
            if name in text
            else _BOOL
            if name in boolean
            else _INT
            if name.startswith("n_")
            else _FLOAT,
        )
        for name in columns
    )


RESULT_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "run_settings": (("name", _TEXT), ("value", _TEXT)),
    "run_warnings": (("step", _TEXT), ("message", _TEXT)),
    "input_files": (
        ("wave", _TEXT),
        ("wave_order", _INT),
        ("version", _INT),
        ("file_name", _TEXT),
        ("sha256", _TEXT),
        ("format", _TEXT),
        ("rows_stored", _INT),
        ("rows_analysed", _INT),
        ("ingested_at", _TIME),
    ),
    "sample_sizes": (
        ("wave", _TEXT),
        ("wave_order", _INT),
        ("arm", _TEXT),
        ("n_respondents", _INT),
        ("n_clusters", _INT),
        ("n_strata", _INT),
    ),
    "outcome_catalogue": (
        ("outcome", _TEXT),
        ("label", _TEXT),
        ("kind", _TEXT),
        ("family", _TEXT),
        ("domain", _TEXT),
        ("is_primary", _BOOL),
        ("scale", _TEXT),
        ("direction", _TEXT),
        ("n_items", _INT),
        ("description", _TEXT),
        ("question", _TEXT),
        ("unit", _TEXT),
    ),
    "index_components": (
        ("family", _TEXT),
        *(
            (name, _FLOAT if name.startswith(("weight", "reference_")) else _TEXT)
            for name in INDEX_COMPONENT_COLUMNS
            if name not in ("reversed", "n_reference")
        ),
        ("reversed", _BOOL),
        ("n_reference", _INT),
    ),
    "reliability": _typed(
        RELIABILITY_COLUMNS, text=("construct", "wave", "method"), boolean=("below_threshold",)
    ),
    "descriptives": _typed(DESCRIPTIVE_COLUMNS, text=("variable", "wave", "arm")),
    "missing_answers": _typed(MISSING_COLUMNS, text=("variable", "wave", "arm", "reason")),
    "attrition": (("wave", _TEXT), *_typed(ATTRITION_COLUMNS, text=("group",))),
    "attrition_tests": (
        ("wave", _TEXT),
        ("term", _TEXT),
        ("characteristics", _TEXT),
        ("statistic", _FLOAT),
        ("df_numerator", _INT),
        ("df_denominator", _FLOAT),
        ("p_value", _FLOAT),
        ("n_obs", _INT),
        ("n_clusters", _INT),
    ),
    "lee_bounds": (
        ("wave", _TEXT),
        ("outcome", _TEXT),
        ("lower", _FLOAT),
        ("upper", _FLOAT),
        ("std_error_lower", _FLOAT),
        ("std_error_upper", _FLOAT),
        ("conf_low", _FLOAT),
        ("conf_high", _FLOAT),
        ("trimming_share", _FLOAT),
        ("trimmed_arm", _TEXT),
        ("follow_up_rate_treatment", _FLOAT),
        ("follow_up_rate_comparison", _FLOAT),
        ("n_obs", _INT),
        ("n_clusters", _INT),
        ("draws", _INT),
        ("inference", _TEXT),
    ),
    "estimates": (
        *_typed(
            EFFECT_COLUMNS,
            text=(
                "outcome",
                "construct",
                "family",
                "waves_compared",
                "estimator",
                "term",
                "specification",
                "inference",
                "primary_inference",
                "notes",
                "warnings",
            ),
        ),
        ("wave", _TEXT),
        ("is_primary", _BOOL),
        ("n_smallest_cell", _INT),
        *EVIDENCE_COLUMNS,
    ),
    "effects_by_group": (
        ("wave", _TEXT),
        ("grouping", _TEXT),
        *_typed(HETEROGENEITY_COLUMNS, text=("outcome", "group", "term")),
        ("is_primary", _BOOL),
        ("n_smallest_cell", _INT),
        ("specification", _TEXT),
    ),
    "quality_waves": (
        ("wave", _TEXT),
        ("version", _INT),
        ("validated", _BOOL),
        ("status", _TEXT),
        ("n_rows", _INT),
        ("n_quarantined", _INT),
        ("n_released", _INT),
        ("n_analysed", _INT),
        ("structural_failures", _TEXT),
        ("data_docs_path", _TEXT),
        ("validated_at", _TIME),
    ),
    "quarantine_reasons": (
        ("wave", _TEXT),
        ("check_name", _TEXT),
        ("severity", _TEXT),
        ("n_rows", _INT),
    ),
    # Quarantined interviews an evaluator released into the analysis: where they are in the
    # file and what flagged them (the decision's free-text reason stays in the warehouse).
    "released_rows": (
        ("wave", _TEXT),
        ("row_number", _INT),
        ("checks", _TEXT),
        ("decided_at", _TIME),
    ),
    "enumerator_flags": (
        ("wave", _TEXT),
        ("enumerator", _TEXT),
        ("n_interviews", _INT),
        ("median_duration_minutes", _FLOAT),
        ("duration_z", _FLOAT),
        ("dont_know_rate", _FLOAT),
        ("near_duplicate_share", _FLOAT),
        ("n_quarantined", _INT),
    ),
    "balance": _typed(BALANCE_COLUMNS, text=("covariate", "specification")),
    "exposure_balance": (
        ("wave", _TEXT),
        ("outcome", _TEXT),
        *_typed(WEIGHTED_BALANCE_COLUMNS, text=("covariate",), boolean=("balanced",)),
    ),
    "balance_joint": (
        ("terms", _TEXT),
        ("statistic", _FLOAT),
        ("df_numerator", _INT),
        ("df_denominator", _FLOAT),
        ("p_value", _FLOAT),
        ("n_obs", _INT),
        ("n_clusters", _INT),
        ("method", _TEXT),
    ),
    "within_arm_change": _typed(
        CHANGE_COLUMNS, text=("outcome", "arm", "wave_before", "wave_after", "test", "label")
    ),
    "trust_shift": (
        ("source", _TEXT),
        ("label", _TEXT),
        ("source_group", _TEXT),
        ("source_order", _INT),
        ("wave", _TEXT),
        ("wave_order", _INT),
        ("arm", _TEXT),
        ("n_obs", _INT),
        ("mean", _FLOAT),
        ("std_dev", _FLOAT),
    ),
    "intention_cascade": (
        ("step", _TEXT),
        ("label", _TEXT),
        ("step_order", _INT),
        ("wave", _TEXT),
        ("wave_order", _INT),
        ("arm", _TEXT),
        ("n_obs", _INT),
        ("share", _FLOAT),
        ("base", _TEXT),
    ),
    "risk_beliefs": (
        ("item", _TEXT),
        ("label", _TEXT),
        ("true_value", _FLOAT),
        ("wave", _TEXT),
        ("wave_order", _INT),
        ("arm", _TEXT),
        ("n_obs", _INT),
        ("mean", _FLOAT),
        ("median", _FLOAT),
        ("share_over", _FLOAT),
        ("share_under", _FLOAT),
    ),
}

RESULT_TABLES["trust_source_effects"] = (
    ("source", _TEXT),
    ("label", _TEXT),
    ("source_group", _TEXT),
    ("source_order", _INT),
    *(column for column in RESULT_TABLES["estimates"] if column[0] in EFFECT_COLUMNS),
    ("wave", _TEXT),
    ("n_smallest_cell", _INT),
)
"""The campaign's effect on trust in each source (flows.estimation.trust_effects)."""


# Each row's place in the table as the run computed it: reads order by it, since not every
# warehouse returns rows in the order they were written (PostgreSQL fills free space first).
ROW_POSITION = "row_position"
KEY_COLUMNS = ("run_id", "study_id", ROW_POSITION)


def result_table_ddl(name: str) -> str:
    """The CREATE TABLE statement of one result table."""
    columns = ", ".join(f'"{column}" {kind}' for column, kind in RESULT_TABLES[name])
    return (
        f"CREATE TABLE IF NOT EXISTS {name} "
        f"(run_id VARCHAR NOT NULL, study_id VARCHAR NOT NULL, row_position INTEGER, {columns})"
    )


def create_result_tables(connection: WarehouseConnection) -> None:
    """Create every result table that is missing, and add columns an older table lacks."""
    for name, columns in RESULT_TABLES.items():
        connection.execute(result_table_ddl(name))
        present = {
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?",
                [name],
            ).fetchall()
        }
        for column, kind in ((ROW_POSITION, "INTEGER"), *columns):
            if column not in present:
                connection.execute(f'ALTER TABLE {name} ADD COLUMN "{column}" {kind}')


def conform_table(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with exactly the table's columns, in order, typed for DuckDB."""
    declared = RESULT_TABLES[name]
    unknown = [column for column in frame.columns if column not in dict(declared)]
    if unknown:
        raise EstimationError(
            f"write_results: table {name!r} has no columns {unknown!r}; declared "
            f"{[column for column, _ in declared]!r}. Declare them in RESULT_TABLES."
        )
    conformed = pd.DataFrame(index=frame.index)
    for column, kind in declared:
        values = frame[column] if column in frame.columns else pd.Series(None, index=frame.index)
        if kind == _TEXT:
            conformed[column] = values.astype("string")
        elif kind == _INT:
            conformed[column] = pd.to_numeric(values, errors="coerce").astype("Int64")
        elif kind == _FLOAT:
            conformed[column] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif kind == _BOOL:
            conformed[column] = values.astype("boolean")
        else:
            conformed[column] = pd.to_datetime(values)
    return conformed.reset_index(drop=True)


def write_results(
    connection: WarehouseConnection,
    *,
    run_id: str,
    study_id: str,
    tables: Mapping[str, pd.DataFrame],
) -> dict[str, int]:
    """Replace the rows of one run in each named table; return rows written per table."""
    written: dict[str, int] = {}
    for name, frame in tables.items():
        staged = conform_table(name, frame)
        staged.insert(0, ROW_POSITION, range(len(staged)))
        staged.insert(0, "study_id", study_id)
        staged.insert(0, "run_id", run_id)
        connection.execute(
            f"DELETE FROM {name} WHERE run_id = ? AND study_id = ?", [run_id, study_id]
        )
        written[name] = insert_frame(connection, name, staged)
    return written


def read_result(
    study: Study,
    table: str,
    run_id: str,
    *,
    connection: WarehouseConnection | None = None,
) -> pd.DataFrame:
    """One result table of one run (without the key columns), as stored.

    ``connection`` reuses an open warehouse connection (a report reads some twenty tables).
    """
    if table not in RESULT_TABLES:
        raise ValueError(
            f"read_result: no result table {table!r}; the tables are {sorted(RESULT_TABLES)!r}. "
            "Pass one of these."
        )
    if connection is None:
        with connect(warehouse_path(study), read_only=True) as opened:
            return read_result(study, table, run_id, connection=opened)
    if not has_table(connection, table):
        return pd.DataFrame(columns=[column for column, _ in RESULT_TABLES[table]])
    frame = connection.execute(
        f"SELECT * FROM {table} WHERE run_id = ? AND study_id = ? ORDER BY row_position",
        [run_id, study.id],
    ).fetch_df()
    return frame.drop(columns=list(KEY_COLUMNS)).reset_index(drop=True)


def run_record(study: Study, run_id: str) -> dict[str, object]:
    """The ``runs`` row of one estimation run; raises when there is none."""
    frame = api.query(
        study,
        "SELECT * FROM runs WHERE run_id = ? AND study_id = ? AND kind = ?",
        [run_id, study.id, RUN_KIND],
    )
    if frame.empty:
        raise EstimationError(
            f"run_record: study {study.id!r} has no estimation run {run_id!r} in "
            f"{warehouse_path(study)}. Run `trustshift estimate` first or pass a listed run id."
        )
    return dict(frame.iloc[0])


def latest_run_id(study: Study) -> str:
    """The most recent finished estimation run of a study."""
    frame = api.query(
        study,
        "SELECT run_id FROM runs WHERE study_id = ? AND kind = ? AND status = 'finished' "
        "ORDER BY finished_at DESC LIMIT 1",
        [study.id, RUN_KIND],
    )
    if frame.empty:
        raise EstimationError(
            f"latest_run_id: study {study.id!r} has no finished estimation run in "
            f"{warehouse_path(study)}. Run `trustshift estimate {study.path}` first."
        )
    return str(frame.iloc[0]["run_id"])


def new_run_id() -> str:
    """A sortable, unique run id: ``estimate-<UTC time>-<random hex>``."""
    return f"{RUN_KIND}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def export_estimates(
    estimates: pd.DataFrame, directory: Path, *, minimum: int
) -> tuple[Path, Path]:
    """Write the estimates at full precision as CSV and Parquet; return both paths.

    Rows whose smallest cell is under ``minimum`` lose their numbers, as in the report;
    formula-like text in the CSV is neutralised.
    """
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "estimates.csv"
    parquet_path = directory / "estimates.parquet"
    published = withhold_small_cells(estimates, minimum)
    write_csv(published, csv_path)
    published.to_parquet(parquet_path, index=False)
    return csv_path, parquet_path


def results_directory(study: Study, run_id: str) -> Path:
    """Where a run's exports go: ``results/<run_id>`` beside the study file."""
    return study.root / "results" / run_id
