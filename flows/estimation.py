"""Estimate a study: scores, indices and every result table of one run, written to the warehouse.

``estimate_study`` reads the stored waves of a study (never the raw files), builds construct
scores and a summary index per outcome family with :mod:`measurement`, computes the result
tables and writes them, keyed by ``(run_id, study_id)``, to the study's warehouse. The report
(:mod:`flows.report`) reads every number it shows from these tables.
"""

from __future__ import annotations

import json
import platform
import secrets
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as distribution_version
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from flows import api
from flows.errors import TrustshiftError
from flows.instrument import Instrument, Item
from flows.study import Study, load_study
from flows.warehouse import connect, has_table, warehouse_path
from measurement.attrition import (
    ATTRITION_COLUMNS,
    attrition_table,
    differential_attrition,
    follow_up_status,
    lee_bounds,
)
from measurement.balance import BALANCE_COLUMNS, baseline_balance, joint_orthogonality
from measurement.change import CHANGE_COLUMNS, within_arm_change
from measurement.constructs import ItemSpec, recode_items, score_constructs
from measurement.descriptives import (
    DESCRIPTIVE_COLUMNS,
    MISSING_COLUMNS,
    describe_responses,
    missing_by_reason,
)
from measurement.errors import DesignError
from measurement.indices import INDEX_COMPONENT_COLUMNS, ReferenceGroup, summary_index
from measurement.reliability import RELIABILITY_COLUMNS, construct_reliability
from measurement.study_effects import EFFECT_COLUMNS, estimate_study_effects

__all__ = [
    "DEFAULT_SEED",
    "RESULT_TABLES",
    "AnalysisData",
    "EstimationError",
    "EstimationRun",
    "OutcomeSpec",
    "analysis_data",
    "estimate_command",
    "estimate_study",
    "latest_run_id",
    "read_result",
    "run_record",
]

DEFAULT_SEED = 20261130
RUN_KIND = "estimate"
INDEX_PREFIX = "index_"
# "Likely" or "very likely" on the 1-5 intention scales counts as intending, for the cascade.
INTENDING_FROM = 4.0
SCORED_SCALES = frozenset({"likert", "percentage", "binary", "count", "money", "select_multiple"})
COMPARISON, CAMPAIGN, EVERYONE = "comparison", "campaign", "everyone"

_TEXT, _INT, _FLOAT, _BOOL, _TIME = "VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP"

# Every result table: name -> (column, DuckDB type); run_id and study_id come first in each.
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
    "reliability": tuple(
        (
            name,
            _INT
            if name in ("n_items", "n_obs")
            else _BOOL
            if name == "below_threshold"
            else _TEXT
            if name in ("construct", "wave", "method")
            else _FLOAT,
        )
        for name in RELIABILITY_COLUMNS
    ),
    "descriptives": tuple(
        (
            name,
            _TEXT
            if name in ("variable", "wave", "arm")
            else _INT
            if name.startswith("n_")
            else _FLOAT,
        )
        for name in DESCRIPTIVE_COLUMNS
    ),
    "missing_answers": tuple(
        (
            name,
            _TEXT
            if name in ("variable", "wave", "arm", "reason")
            else _INT
            if name.startswith("n_")
            else _FLOAT,
        )
        for name in MISSING_COLUMNS
    ),
    "attrition": (
        ("wave", _TEXT),
        *(
            (name, _TEXT if name == "group" else _INT if name.startswith("n_") else _FLOAT)
            for name in ATTRITION_COLUMNS
        ),
    ),
    "attrition_tests": (
        ("wave", _TEXT),
        ("term", _TEXT),
        ("characteristics", _TEXT),
        ("statistic", _FLOAT),
        ("df_numerator", _INT),
        ("df_denominator", _INT),
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
        *(
            (
                name,
                _INT
                if name in ("n_obs", "n_clusters")
                else _TEXT
                if name
                in (
                    "outcome",
                    "construct",
                    "family",
                    "waves_compared",
                    "estimator",
                    "term",
                    "specification",
                    "inference",
                    "notes",
                    "warnings",
                )
                else _FLOAT,
            )
            for name in EFFECT_COLUMNS
        ),
        ("wave", _TEXT),
        ("is_primary", _BOOL),
        ("n_smallest_cell", _INT),
    ),
    "quality_waves": (
        ("wave", _TEXT),
        ("version", _INT),
        ("validated", _BOOL),
        ("status", _TEXT),
        ("n_rows", _INT),
        ("n_quarantined", _INT),
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
    "balance": tuple(
        (
            name,
            _TEXT
            if name in ("covariate", "specification")
            else _INT
            if name.startswith("n_")
            else _FLOAT,
        )
        for name in BALANCE_COLUMNS
    ),
    "balance_joint": (
        ("terms", _TEXT),
        ("statistic", _FLOAT),
        ("df_numerator", _INT),
        ("df_denominator", _INT),
        ("p_value", _FLOAT),
        ("n_obs", _INT),
        ("n_clusters", _INT),
        ("method", _TEXT),
    ),
    "within_arm_change": tuple(
        (
            name,
            _TEXT
            if name in ("outcome", "arm", "wave_before", "wave_after", "test", "label")
            else _INT
            if name.startswith("n_")
            else _FLOAT,
        )
        for name in CHANGE_COLUMNS
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


class EstimationError(TrustshiftError):
    """A study cannot be estimated from what the warehouse holds."""

    exit_code = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeSpec:
    """One pre-declared outcome: an item, a construct score, or a family's summary index."""

    name: str
    label: str
    kind: str
    family: str
    domain: str
    is_primary: bool
    scale: str
    direction: str
    n_items: int
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisData:
    """The respondent-by-wave frame with outcome columns, and what was built to get them.

    ``responses`` holds the role columns (``respondent``, ``cluster``, ``stratum``, ``weight``,
    ``treated``), ``wave`` with ``wave_order`` and ``post``, ``arm`` (campaign, comparison or
    everyone), the recoded item columns and one column per outcome (construct scores and
    ``index_<family>`` indices).
    """

    responses: pd.DataFrame
    outcomes: tuple[OutcomeSpec, ...]
    families: dict[str, list[str]]
    construct_items: dict[str, list[str]]
    index_components: pd.DataFrame
    baseline_wave: str
    later_waves: tuple[str, ...]
    messages: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EstimationRun:
    """What one call of :func:`estimate_study` wrote."""

    run_id: str
    study_id: str
    warehouse: Path
    tables: dict[str, int]
    exports: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default=())


# -- the result store -------------------------------------------------------------------------


def result_table_ddl(name: str) -> str:
    """The CREATE TABLE statement of one result table."""
    columns = ", ".join(f'"{column}" {kind}' for column, kind in RESULT_TABLES[name])
    return (
        f"CREATE TABLE IF NOT EXISTS {name} "
        f"(run_id VARCHAR NOT NULL, study_id VARCHAR NOT NULL, {columns})"
    )


def create_result_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create every result table that is missing, and add columns an older table lacks."""
    for name, columns in RESULT_TABLES.items():
        connection.execute(result_table_ddl(name))
        present = {
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
            ).fetchall()
        }
        for column, kind in columns:
            if column not in present:
                connection.execute(f'ALTER TABLE {name} ADD COLUMN "{column}" {kind}')


def _conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
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
    connection: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    study_id: str,
    tables: Mapping[str, pd.DataFrame],
) -> dict[str, int]:
    """Replace the rows of one run in each named table; return rows written per table."""
    written: dict[str, int] = {}
    for name, frame in tables.items():
        staged = _conform(name, frame)
        staged.insert(0, "study_id", study_id)
        staged.insert(0, "run_id", run_id)
        connection.execute(
            f"DELETE FROM {name} WHERE run_id = ? AND study_id = ?", [run_id, study_id]
        )
        if not staged.empty:
            connection.register("staged_results", staged)
            try:
                columns = ", ".join(f'"{column}"' for column in staged.columns)
                connection.execute(
                    f"INSERT INTO {name} ({columns}) SELECT {columns} FROM staged_results"
                )
            finally:
                connection.unregister("staged_results")
        written[name] = len(staged)
    return written


def read_result(study: Study, table: str, run_id: str) -> pd.DataFrame:
    """One result table of one run (without the key columns), as stored."""
    if table not in RESULT_TABLES:
        raise ValueError(
            f"read_result: no result table {table!r}; the tables are {sorted(RESULT_TABLES)!r}. "
            "Pass one of these."
        )
    path = warehouse_path(study)
    with connect(path, read_only=True) as connection:
        if not has_table(connection, table):
            return pd.DataFrame(columns=[column for column, _ in RESULT_TABLES[table]])
        frame = connection.execute(
            f"SELECT * EXCLUDE (run_id, study_id) FROM {table} WHERE run_id = ? AND study_id = ?",
            [run_id, study.id],
        ).fetch_df()
    return frame


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


# -- the analysis frame ------------------------------------------------------------------------


def _item_specs(instrument: Instrument, items: Sequence[Item]) -> list[ItemSpec]:
    specs = []
    for item in items:
        low, high = item.bounds
        for stored in item.stored_names():
            specs.append(
                ItemSpec(
                    name=stored,
                    construct=item.construct_name,
                    scale="binary" if item.scale == "select_multiple" else item.scale,
                    direction=item.direction,
                    minimum=low,
                    maximum=high,
                    correct_answer=item.correct_answer,
                )
            )
    return specs


def _scorable(item: Item) -> bool:
    """Items that enter construct scores: numeric or keyed, and reversible when negative."""
    if item.direction == "negative" and None in item.bounds:
        return False
    return item.scale in SCORED_SCALES or item.correct_answer is not None


def _arm_labels(responses: pd.DataFrame, study: Study) -> pd.Series:
    if study.design.assignment == "pre_post" or "treated" not in responses.columns:
        return pd.Series(EVERYONE, index=responses.index, dtype="string")
    treated = pd.to_numeric(responses["treated"], errors="coerce")
    labels = pd.Series(pd.NA, index=responses.index, dtype="string")
    labels[treated == 1] = CAMPAIGN
    labels[treated == 0] = COMPARISON
    return labels


def analysable_keys(
    connection: duckdb.DuckDBPyConnection, study: Study
) -> tuple[pd.DataFrame | None, str]:
    """(wave, row_number) of the rows analysis may use, or None when nothing was validated.

    Once any wave of the study has been validated, only validated waves count, without their
    quarantined rows (unless released). A study never validated is analysed whole, with a
    caveat saying so.
    """
    found = (
        connection.execute(
            "SELECT count(*) FROM validation_waves WHERE study_id = ?", [study.id]
        ).fetchone()
        if has_table(connection, "validation_waves")
        else None
    )
    if not found or not found[0]:
        return None, (
            "no wave of this study has been validated: every stored row is analysed. Run the "
            "validation (trustshift validate) so that quarantined rows are left out."
        )
    # Imported here: flows.validation loads Great Expectations (seconds), needed only now.
    from flows.validation.storage import analysable_rows

    rows = analysable_rows(connection, study.id)
    return rows[["wave", "row_number"]], ""


def quality_tables(
    connection: duckdb.DuckDBPyConnection, study: Study, analysed: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Snapshots of the validation of the stored wave versions, for the data-quality section."""
    if not has_table(connection, "validation_waves"):
        stored = connection.execute(
            "SELECT wave, version, false AS validated, 'not validated' AS status, rows_stored "
            "AS n_rows, 0 AS n_quarantined FROM waves WHERE study_id = ? AND status = 'stored' "
            "ORDER BY wave_order",
            [study.id],
        ).fetch_df()
        counts = analysed.groupby("wave").size()
        stored["n_analysed"] = stored["wave"].map(counts).fillna(0).astype("int64")
        empty = {
            name: pd.DataFrame(columns=[column for column, _ in RESULT_TABLES[name]])
            for name in ("quarantine_reasons", "enumerator_flags")
        }
        return {"quality_waves": stored, **empty}
    waves = connection.execute(
        "SELECT w.wave, w.version, v.status IS NOT NULL AS validated, "
        "coalesce(v.status, 'not validated') AS status, coalesce(v.n_rows, w.rows_stored) "
        "AS n_rows, coalesce(v.n_quarantined, 0) AS n_quarantined, v.structural_failures, "
        "v.data_docs_path, v.validated_at FROM waves w LEFT JOIN validation_waves v "
        "USING (study_id, wave, version) WHERE w.study_id = ? AND w.status = 'stored' "
        "ORDER BY w.wave_order",
        [study.id],
    ).fetch_df()
    counts = analysed.groupby("wave").size()
    waves["n_analysed"] = waves["wave"].map(counts).fillna(0).astype("int64")
    reasons = connection.execute(
        "SELECT q.wave, q.check_name, q.severity, count(DISTINCT q.row_number) AS n_rows "
        "FROM quarantine q JOIN waves w USING (study_id, wave, version) "
        "WHERE q.study_id = ? AND w.status = 'stored' GROUP BY ALL ORDER BY q.wave, n_rows DESC",
        [study.id],
    ).fetch_df()
    enumerators = connection.execute(
        "SELECT e.wave, e.enumerator, e.n_interviews, e.median_duration_minutes, e.duration_z, "
        "e.dont_know_rate, e.near_duplicate_share, e.n_quarantined FROM enumerator_checks e "
        "JOIN waves w USING (study_id, wave, version) WHERE e.study_id = ? "
        "AND w.status = 'stored' ORDER BY e.wave, e.enumerator",
        [study.id],
    ).fetch_df()
    return {
        "quality_waves": waves,
        "quarantine_reasons": reasons,
        "enumerator_flags": enumerators,
    }


def analysable_responses(study: Study, keys: pd.DataFrame | None = None) -> pd.DataFrame:
    """The respondent-by-wave frame of the stored waves, analysis values (codes as NaN).

    Only rows in ``keys`` (wave, row_number) when given. Quiz items keep "don't know" as
    answered (scored wrong): their codes come from the coded frame. Items the study lists in
    ``outcomes.not_applicable_as_zero`` count "not applicable" (skipped) as 0. Rows without
    consent are left out.
    """
    values = api.responses(study)
    if keys is not None:
        values = values.merge(keys, on=["wave", "row_number"], how="inner")
    if values.empty:
        raise EstimationError(
            f"estimate_study: the warehouse {warehouse_path(study)} holds no stored wave of "
            f"study {study.id!r}. Ingest the waves first (`trustshift ingest {study.path}`)."
        )
    instrument = study.resolved_instrument()
    quiz = [item.name for item in instrument.items if item.correct_answer is not None]
    quiz = [name for name in quiz if name in values.columns]
    skipped = [name for name in study.outcomes.not_applicable_as_zero if name in values.columns]
    if quiz or skipped:
        coded = api.responses(study, coded=True).set_index(["wave", "row_number"])
        coded = coded.reindex(pd.MultiIndex.from_frame(values[["wave", "row_number"]]))
        coded.index = values.index
        dont_know = study.special_codes().get("dont_know", [])
        for name in quiz:
            said_dont_know = coded[name].isin(dont_know)
            values.loc[said_dont_know, name] = coded.loc[said_dont_know, name]
        # A cascade step skipped because the step before it was "no" is itself "no".
        not_applicable = study.special_codes().get("not_applicable", [])
        for name in skipped:
            values.loc[coded[name].isin(not_applicable), name] = 0.0
    if "consent" in values.columns:
        consent = pd.to_numeric(values["consent"], errors="coerce")
        values = values[consent.isna() | (consent == 1)]
    return values.reset_index(drop=True)


def _outcome_specs(study: Study, available: set[str]) -> list[OutcomeSpec]:
    instrument = study.resolved_instrument()
    constructs = {construct.name: construct for construct in instrument.constructs}
    families = study.outcomes.families
    primary = set(study.outcomes.primary)
    family_of: dict[str, str] = {}
    for family, members in families.items():
        for member in members:
            family_of.setdefault(member, family)
    for name in study.outcomes.primary:
        family_of.setdefault(name, "primary")
    specs: list[OutcomeSpec] = []
    ordered = list(dict.fromkeys([*study.outcomes.primary, *family_of]))
    for name in ordered:
        if name in constructs:
            construct = constructs[name]
            construct_members: list[Item] = [
                member for member in instrument.items_of(name) if _scorable(member)
            ]
            stored = [
                s for member in construct_members for s in member.stored_names() if s in available
            ]
            if not stored:
                continue
            scales = {member.scale for member in construct_members}
            specs.append(
                OutcomeSpec(
                    name=name,
                    label=construct.label,
                    kind="construct",
                    family=family_of[name],
                    domain=construct.domain,
                    is_primary=name in primary,
                    scale="share_correct"
                    if all(member.correct_answer is not None for member in construct_members)
                    else (scales.pop() if len(scales) == 1 else "mixed"),
                    direction="positive",
                    n_items=len(stored),
                    description=construct.description,
                )
            )
        elif name in available:
            item = instrument.item(name)
            specs.append(
                OutcomeSpec(
                    name=name,
                    label=item.question,
                    kind="item",
                    family=family_of[name],
                    domain=constructs[item.construct_name].domain,
                    is_primary=name in primary,
                    scale=item.scale,
                    direction=item.direction,
                    n_items=1,
                )
            )
    return specs


@contextmanager
def _caveats(step: str, collected: list[tuple[str, str]]) -> Iterator[None]:
    """Record statistical caveat warnings of one step instead of letting them escape."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        collected.append((step, str(warning.message)))


def analysis_data(study: Study, responses: pd.DataFrame) -> AnalysisData:
    """Recode items, score constructs and build one summary index per outcome family."""
    instrument = study.resolved_instrument()
    messages: list[tuple[str, str]] = []
    frame = responses.copy()
    wave_names = study.wave_names
    present_waves = [wave for wave in wave_names if wave in set(frame["wave"])]
    if not present_waves:
        raise EstimationError(
            f"estimate_study: none of the stored waves {sorted(set(frame['wave']))!r} is a wave "
            f"of the study file ({wave_names!r}). Fix the wave names in the study file."
        )
    baseline_wave = wave_names[0]
    frame["wave_order"] = frame["wave"].map({wave: k for k, wave in enumerate(wave_names)})
    frame["post"] = (frame["wave"] != baseline_wave).astype("float64")
    frame["arm"] = _arm_labels(frame, study)
    if "treated" in frame.columns:
        frame["treated"] = pd.to_numeric(frame["treated"], errors="coerce").astype("float64")
    if "weight" in frame.columns and frame["weight"].notna().any():
        frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce").astype("float64")

    scored_items = [
        item
        for item in instrument.items
        if _scorable(item) and all(s in frame.columns for s in item.stored_names())
    ]
    specs = _item_specs(instrument, scored_items)
    dont_know = study.special_codes().get("dont_know", [])
    recoded = recode_items(frame, items=specs, wrong_codes=dont_know)
    scores = score_constructs(frame, items=specs, wrong_codes=dont_know)
    available = set(frame.columns) | set(scores.columns)
    outcomes = _outcome_specs(study, available)
    for spec in outcomes:
        if spec.kind == "construct":
            frame[spec.name] = scores[spec.name]
        else:
            frame[spec.name] = pd.to_numeric(frame[spec.name], errors="coerce").astype("float64")
    recoded_names = {name: f"recoded__{name}" for name in recoded.columns}
    frame = pd.concat([frame, recoded.rename(columns=recoded_names)], axis=1)
    construct_items: dict[str, list[str]] = {}
    for spec_item in specs:
        construct_items.setdefault(spec_item.construct, []).append(recoded_names[spec_item.name])

    families: dict[str, list[str]] = {}
    components: list[pd.DataFrame] = []
    reference: ReferenceGroup = (
        "full_baseline"
        if study.design.assignment == "pre_post" or "treated" not in frame.columns
        else "comparison_baseline"
    )
    index_specs: list[OutcomeSpec] = []
    for family, members in study.outcomes.families.items():
        present = [spec.name for spec in outcomes if spec.name in members]
        families[family] = present
        if len(present) < 2:
            continue
        reverse = [
            spec.name for spec in outcomes if spec.name in present and spec.direction == "negative"
        ]
        name = f"{INDEX_PREFIX}{family}"
        try:
            with _caveats(f"index {family}", messages):
                index = summary_index(
                    frame,
                    outcomes=present,
                    wave="wave",
                    baseline_wave=baseline_wave,
                    treated="treated" if reference == "comparison_baseline" else None,
                    reference=reference,
                    reverse=reverse,
                    name=name,
                )
        except DesignError as error:
            messages.append((f"index {family}", str(error)))
            continue
        frame[name] = index.scores
        table = index.tidy()
        table.insert(0, "family", family)
        components.append(table)
        index_specs.append(
            OutcomeSpec(
                name=name,
                label=f"Summary index: {family}",
                kind="index",
                family=family,
                domain=family,
                is_primary=False,
                scale="z-score",
                direction="positive",
                n_items=len(present),
                description=f"{index.method}; {index.reference}",
            )
        )
    index_table = (
        pd.concat(components, ignore_index=True)
        if components
        else pd.DataFrame(columns=["family", *INDEX_COMPONENT_COLUMNS])
    )
    return AnalysisData(
        responses=frame,
        outcomes=(*outcomes, *index_specs),
        families=families,
        construct_items=construct_items,
        index_components=index_table,
        baseline_wave=baseline_wave,
        later_waves=tuple(wave for wave in present_waves if wave != baseline_wave),
        messages=tuple(messages),
    )


# -- descriptive result tables built in the shell ---------------------------------------------


def sample_sizes(data: AnalysisData) -> pd.DataFrame:
    """Respondents, clusters and strata per wave and arm."""
    frame = data.responses
    rows = []
    for (wave, order), rows_of_wave in frame.groupby(["wave", "wave_order"], sort=True):
        cells = [
            (arm, rows_of_wave[rows_of_wave["arm"] == arm])
            for arm in (CAMPAIGN, COMPARISON)
            if (rows_of_wave["arm"] == arm).any()
        ]
        for arm, cell in [*cells, (EVERYONE, rows_of_wave)]:
            rows.append(
                {
                    "wave": str(wave),
                    "wave_order": order,
                    "arm": arm,
                    "n_respondents": len(cell),
                    "n_clusters": cell["cluster"].nunique(),
                    "n_strata": cell["stratum"].nunique(),
                }
            )
    return pd.DataFrame(rows)


def describe_cells(frame: pd.DataFrame, variables: Sequence[str]) -> pd.DataFrame:
    """Usable answers, mean, sd and median of each variable per wave and arm, and for everyone.

    Columns: variable, wave, wave_order, arm, n_obs (usable answers), mean, std_dev, median.
    """
    parts = [describe_responses(frame, variables=list(variables), wave="wave")]
    parts[0]["arm"] = EVERYONE
    if (frame["arm"] != EVERYONE).any():
        by_arm = describe_responses(frame, variables=list(variables), wave="wave", arm="arm")
        parts.insert(0, by_arm[by_arm["arm"].isin([CAMPAIGN, COMPARISON])])
    described = pd.concat(parts, ignore_index=True)
    order = frame.drop_duplicates("wave").set_index("wave")["wave_order"]
    described["wave_order"] = described["wave"].map(order).astype("int64")
    described["n_obs"] = described["n_valid"]
    return described[
        ["variable", "wave", "wave_order", "arm", "n_obs", "mean", "std_dev", "median"]
    ]


def trust_shift(study: Study, data: AnalysisData) -> pd.DataFrame:
    """Trust in each source, and the official-minus-informal gap, per wave and arm.

    Unweighted means of the 1-5 ratings among respondents who rated the source ("don't know"
    and "never heard of this source" are left out, so n differs by source).
    """
    instrument = study.resolved_instrument()
    frame = data.responses.copy()
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    columns: list[tuple[str, str, str, int]] = []
    for item in instrument.items:
        if (
            domains.get(item.construct_name) == "trust"
            and item.scale == "likert"
            and item.name in frame.columns
        ):
            label = _source_label(item)
            columns.append((item.name, label, item.construct_name, len(columns)))
    if {"trust_official", "trust_informal"} <= set(frame.columns):
        frame["trust_gap_official_informal"] = frame["trust_official"] - frame["trust_informal"]
        columns.append(
            (
                "trust_gap_official_informal",
                "official minus informal sources (gap)",
                "gap",
                len(columns),
            )
        )
    if not columns:
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["trust_shift"]])
    described = describe_cells(frame, [column for column, _, _, _ in columns])
    sources = pd.DataFrame(columns, columns=["variable", "label", "source_group", "source_order"])
    table = described.merge(sources, on="variable").rename(columns={"variable": "source"})
    return table[[name for name, _ in RESULT_TABLES["trust_shift"]]]


def _source_label(item: Item) -> str:
    """The source named at the end of a trust question ("your own government")."""
    if " from " not in item.question:
        return item.name
    return item.question.rsplit(" from ", 1)[-1].rstrip("?").strip()


def intention_cascade(study: Study, data: AnalysisData) -> pd.DataFrame:
    """Share at each step of the intention cascade per wave and arm.

    Steps: the binary intention items in instrument order (wish, plan, preparations), each
    preparation step of a select-multiple item, then the 1-5 intention items counted as
    intending when "likely" or "very likely" (4 or 5).
    """
    instrument = study.resolved_instrument()
    frame = data.responses
    intention = [
        construct.name for construct in instrument.constructs if construct.domain == "intention"
    ]
    steps: dict[str, tuple[str, pd.Series]] = {}
    for item in instrument.items:
        if item.construct_name not in intention:
            continue
        if item.scale == "binary" and item.name in frame.columns:
            steps[item.name] = (item.question, frame[item.name])
        elif item.scale == "select_multiple":
            for stored, label in zip(item.stored_names(), item.choices.values(), strict=True):
                if stored in frame.columns:
                    steps[stored] = (f"Preparation: {label}", frame[stored])
    for item in instrument.items:
        if item.construct_name in intention and item.scale == "likert" and item.name in frame:
            values = pd.to_numeric(frame[item.name], errors="coerce")
            intending = (values >= INTENDING_FROM).astype("float64").where(values.notna())
            steps[f"{item.name}__likely"] = (f"{item.question} (likely or very likely)", intending)
    if not steps:
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["intention_cascade"]])
    working = frame[["wave", "wave_order", "arm"]].copy()
    for step, (_, values) in steps.items():
        working[step] = pd.to_numeric(values, errors="coerce").astype("float64")
    described = describe_cells(working, list(steps))
    labels = pd.DataFrame(
        [(step, label, k) for k, (step, (label, _)) in enumerate(steps.items())],
        columns=["variable", "label", "step_order"],
    )
    table = described.merge(labels, on="variable").rename(
        columns={"variable": "step", "mean": "share"}
    )
    return table[[name for name, _ in RESULT_TABLES["intention_cascade"]]]


def risk_beliefs(study: Study, data: AnalysisData) -> pd.DataFrame:
    """Risk beliefs against the study's true values: mean, median, shares over and under.

    For each "out of 100" item with a ``true_value`` in the instrument, per wave and arm.
    """
    instrument = study.resolved_instrument()
    frame = data.responses
    believed = [
        item
        for item in instrument.items
        if item.true_value is not None and item.scale == "percentage" and item.name in frame
    ]
    if not believed:
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["risk_beliefs"]])
    working = frame[["wave", "wave_order", "arm"]].copy()
    for item in believed:
        values = pd.to_numeric(frame[item.name], errors="coerce").astype("float64")
        truth = float(item.true_value) if item.true_value is not None else np.nan
        working[item.name] = values
        working[f"{item.name}__over"] = (values > truth).astype("float64").where(values.notna())
        working[f"{item.name}__under"] = (values < truth).astype("float64").where(values.notna())
    described = describe_cells(
        working, [c for c in working.columns if c not in ("wave", "wave_order", "arm")]
    )
    keys = ["wave", "wave_order", "arm"]
    rows = []
    for item in believed:
        level = described[described["variable"] == item.name].set_index(keys)
        over = described[described["variable"] == f"{item.name}__over"].set_index(keys)["mean"]
        under = described[described["variable"] == f"{item.name}__under"].set_index(keys)["mean"]
        table = level[["n_obs", "mean", "median"]].copy()
        table["share_over"] = over
        table["share_under"] = under
        table = table.reset_index()
        table.insert(0, "true_value", item.true_value)
        table.insert(0, "label", item.question)
        table.insert(0, "item", item.name)
        rows.append(table)
    return pd.concat(rows, ignore_index=True)[[name for name, _ in RESULT_TABLES["risk_beliefs"]]]


def reliability(study: Study, data: AnalysisData, messages: list[tuple[str, str]]) -> pd.DataFrame:
    """Cronbach's alpha per construct and wave, for constructs of two or more items on one scale.

    Background and exposure constructs (age, income, channels) and select-multiple checklists
    are not scales and are skipped.
    """
    instrument = study.resolved_instrument()
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    scales: dict[str, set[str]] = {}
    for item in instrument.items:
        scales.setdefault(item.construct_name, set()).add(
            "quiz" if item.correct_answer is not None else item.scale
        )
    constructs = {
        name: members
        for name, members in data.construct_items.items()
        if len(members) >= 2
        and len(scales.get(name, set())) == 1
        # The choices of a select-multiple question are a checklist, not a scale.
        and scales.get(name) != {"select_multiple"}
        and domains.get(name) not in ("background", "exposure")
    }
    if not constructs:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    tables = []
    for construct, members in constructs.items():
        try:
            with _caveats("reliability", messages):
                table = construct_reliability(
                    data.responses, constructs={construct: members}, wave="wave"
                )
        except DesignError as error:
            messages.append(("reliability", str(error)))
            continue
        tables.append(table)
    return (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=RELIABILITY_COLUMNS)
    )


def outcome_catalogue(data: AnalysisData) -> pd.DataFrame:
    """One row per outcome: label, kind, family, whether primary, scale."""
    return pd.DataFrame(
        [
            {
                "outcome": spec.name,
                "label": spec.label,
                "kind": spec.kind,
                "family": spec.family,
                "domain": spec.domain,
                "is_primary": spec.is_primary,
                "scale": spec.scale,
                "direction": spec.direction,
                "n_items": spec.n_items,
                "description": spec.description,
            }
            for spec in data.outcomes
        ],
        columns=[name for name, _ in RESULT_TABLES["outcome_catalogue"]],
    )


def input_files(study: Study, data: AnalysisData) -> pd.DataFrame:
    """The stored wave files the run used, with their checksums and rows analysed."""
    stored = api.waves(study)
    stored = stored[stored["status"] == "stored"].copy()
    order = {wave: k for k, wave in enumerate(study.wave_names)}
    analysed = data.responses.groupby("wave").size()
    stored["wave_order"] = stored["wave"].map(order)
    stored["rows_analysed"] = stored["wave"].map(analysed).fillna(0)
    return stored[
        [
            "wave",
            "wave_order",
            "version",
            "file_name",
            "sha256",
            "format",
            "rows_stored",
            "rows_analysed",
            "ingested_at",
        ]
    ].sort_values("wave_order")


def descriptives(study: Study, data: AnalysisData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every numeric item, construct score and index per wave and arm; missing by reason.

    Items are described as answered (reverse-coded items on their own scale); missing
    answers are counted by reason on the codes as answered.
    """
    frame = data.responses
    instrument = study.resolved_instrument()
    items = [
        stored
        for item in instrument.items
        if item.is_numeric or item.scale == "select_multiple"
        for stored in item.stored_names()
        if stored in frame.columns
    ]
    outcome_columns = [spec.name for spec in data.outcomes if spec.name not in items]
    variables = list(dict.fromkeys([*items, *outcome_columns]))
    arm = "arm" if (frame["arm"] != EVERYONE).any() else None
    described = describe_responses(frame, variables=variables, wave="wave", arm=arm)
    if arm is None:
        described["arm"] = EVERYONE
    coded = api.responses(study, coded=True).drop(columns="arm")
    coded = coded.merge(
        frame[["wave", "row_number", "arm"]], on=["wave", "row_number"], how="inner"
    )
    all_items = [
        stored for item in instrument.items for stored in item.stored_names() if stored in coded
    ]
    missing = missing_by_reason(
        coded,
        variables=all_items,
        wave="wave",
        arm=arm,
        missing_codes=study.special_codes(),
    )
    if arm is None:
        missing["arm"] = EVERYONE
    return described, missing


def attrition_results(
    data: AnalysisData, *, lee_draws: int, seed: int, messages: list[tuple[str, str]]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Follow-up rates by arm, differential attrition and Lee bounds, per later wave (panels)."""
    frame = data.responses
    rates, tests, bounds = [], [], []
    stratum = "stratum" if frame["stratum"].notna().any() else None
    characteristics = [
        spec.name for spec in data.outcomes if spec.is_primary and spec.kind != "index"
    ]
    for offset, wave in enumerate(data.later_waves):
        status = follow_up_status(
            frame,
            respondent="respondent",
            wave="wave",
            baseline_wave=data.baseline_wave,
            follow_up_wave=wave,
        )
        try:
            table = attrition_table(
                status,
                followed_up="followed_up",
                treated="treated",
                cluster="cluster",
                stratum=stratum,
            )
            table.insert(0, "wave", wave)
            rates.append(table)
        except DesignError as error:
            messages.append((f"attrition {wave}", str(error)))
        usable = [name for name in characteristics if status[name].notna().any()]
        if usable:
            try:
                test = differential_attrition(
                    status,
                    followed_up="followed_up",
                    treated="treated",
                    characteristics=usable,
                    cluster="cluster",
                    stratum=stratum,
                ).tidy()
                test.insert(0, "wave", wave)
                test["characteristics"] = ", ".join(usable)
                tests.append(test)
            except DesignError as error:
                messages.append((f"differential attrition {wave}", str(error)))
        later = frame.loc[frame["wave"] == wave].drop_duplicates("respondent")
        for position, spec in enumerate(data.outcomes):
            followed = status[["respondent", "treated", "cluster"]].merge(
                later[["respondent", spec.name]], on="respondent", how="left"
            )
            try:
                with _caveats(f"lee bounds {wave} {spec.name}", messages):
                    result = lee_bounds(
                        followed,
                        outcome=spec.name,
                        treated="treated",
                        cluster="cluster",
                        draws=lee_draws,
                        seed=seed + 1000 * offset + position,
                    ).tidy()
            except DesignError as error:
                messages.append((f"lee bounds {wave} {spec.name}", str(error)))
                continue
            result.insert(0, "wave", wave)
            bounds.append(result)

    def stack(parts: list[pd.DataFrame], table: str) -> pd.DataFrame:
        if parts:
            return pd.concat(parts, ignore_index=True)
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES[table]])

    return stack(rates, "attrition"), stack(tests, "attrition_tests"), stack(bounds, "lee_bounds")


def _smallest_cells(frame: pd.DataFrame, outcome: str, waves: Sequence[str]) -> int:
    """The fewest respondents with an answer in any compared wave-by-arm cell."""
    rows = frame[frame["wave"].isin(waves) & frame[outcome].notna()]
    counts = rows.groupby(["wave", "arm"]).size()
    expected = len(waves) * 2
    return int(counts.min()) if len(counts) == expected else 0


def effect_estimates(
    study: Study,
    data: AnalysisData,
    *,
    bootstrap_draws: int,
    seed: int,
    messages: list[tuple[str, str]],
    reliability_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """ANCOVA (panels) and difference-in-differences of every outcome, each later wave vs baseline.

    Outcome families are the study's; the summary indices form their own family
    ("summary_indices") and the primary outcomes keep the family they were declared in.
    """
    frame = data.responses
    if study.design.assignment == "pre_post" or not (frame["arm"] == COMPARISON).any():
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["estimates"]])
    low: dict[str, list[str]] = {}
    if reliability_table is not None and not reliability_table.empty:
        flagged = reliability_table[reliability_table["below_threshold"].astype(bool)]
        for row in flagged.itertuples(index=False):
            low.setdefault(str(row.construct), []).append(
                f"low reliability (alpha {row.estimate:.2f} at {row.wave})"
            )
    outcomes = [
        {
            "outcome": spec.name,
            "construct": spec.family if spec.kind == "index" else spec.name,
            "family": "summary_indices" if spec.kind == "index" else spec.family,
            "warnings": low.get(spec.name, [])[:1],
        }
        for spec in data.outcomes
    ]
    primary = {spec.name for spec in data.outcomes if spec.is_primary}
    roles = ["respondent", "cluster", "stratum", "weight", "treated", "wave", "arm"]
    # A slim frame: the effect functions copy their input, and the full frame is wide.
    frame = frame[[*roles, *(str(entry["outcome"]) for entry in outcomes)]]
    estimators = ["ancova", "did"] if study.design.sampling == "panel" else ["did"]
    stratum = "stratum" if frame["stratum"].notna().any() else None
    weight = "weight" if "weight" in frame and frame["weight"].notna().any() else None
    tables = []
    for offset, wave in enumerate(data.later_waves):
        for number, estimator in enumerate(estimators):
            with _caveats(f"effects {estimator} {wave}", messages):
                table = estimate_study_effects(
                    frame,
                    outcomes=outcomes,
                    treated="treated",
                    cluster="cluster",
                    wave="wave",
                    waves=(data.baseline_wave, wave),
                    estimator=estimator,  # type: ignore[arg-type]
                    respondent="respondent" if study.design.sampling == "panel" else None,
                    stratum=stratum,
                    weight=weight,
                    bootstrap_draws=bootstrap_draws,
                    randomization_draws=bootstrap_draws,
                    seed=seed + 100 * offset + number,
                )
            table["wave"] = wave
            table["is_primary"] = table["outcome"].isin(primary)
            table["n_smallest_cell"] = [
                _smallest_cells(frame, outcome, (data.baseline_wave, wave))
                for outcome in table["outcome"]
            ]
            tables.append(table)
    return pd.concat(tables, ignore_index=True)


BALANCE_BACKGROUND = ("age", "education", "employed", "household_size", "relatives_abroad")


def balance_results(
    study: Study, data: AnalysisData, messages: list[tuple[str, str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline balance of the outcomes and background items, and the joint orthogonality test.

    Covariates: every non-index outcome and the background items the study fielded (age,
    education, employment, household size, relatives abroad), at baseline, one row per
    respondent.
    """
    frame = data.responses
    empty = (
        pd.DataFrame(columns=BALANCE_COLUMNS),
        pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["balance_joint"]]),
    )
    if study.design.assignment == "pre_post" or not (frame["arm"] == COMPARISON).any():
        return empty
    baseline = frame[frame["wave"] == data.baseline_wave]
    if study.design.sampling == "panel":
        baseline = baseline.drop_duplicates("respondent")
    covariates = [spec.name for spec in data.outcomes if spec.kind != "index"]
    covariates += [name for name in BALANCE_BACKGROUND if name in baseline.columns]
    covariates = [name for name in dict.fromkeys(covariates) if baseline[name].notna().sum() > 1]
    stratum = "stratum" if baseline["stratum"].notna().any() else None
    try:
        with _caveats("balance", messages):
            table = baseline_balance(
                baseline,
                covariates=covariates,
                treated="treated",
                cluster="cluster",
                stratum=stratum,
            )
    except DesignError as error:
        messages.append(("balance", str(error)))
        return empty
    joint_covariates = [spec.name for spec in data.outcomes if spec.is_primary]
    joint_covariates += [name for name in BALANCE_BACKGROUND if name in covariates]
    try:
        with _caveats("balance joint test", messages):
            joint = joint_orthogonality(
                baseline,
                covariates=joint_covariates,
                treated="treated",
                cluster="cluster",
                stratum=stratum,
            ).tidy()
    except DesignError as error:
        messages.append(("balance joint test", str(error)))
        joint = empty[1]
    return table, joint


def change_results(
    study: Study, data: AnalysisData, messages: list[tuple[str, str]]
) -> pd.DataFrame:
    """Descriptive change of every outcome within each arm, baseline to each later wave."""
    frame = data.responses
    outcomes = [spec.name for spec in data.outcomes]
    panel = study.design.sampling == "panel"
    tables = []
    for wave in data.later_waves:
        try:
            with _caveats(f"change {wave}", messages):
                table = within_arm_change(
                    frame[["respondent", "wave", "arm", *outcomes]],
                    outcomes=outcomes,
                    wave="wave",
                    before=data.baseline_wave,
                    after=wave,
                    design="panel" if panel else "cross_section",
                    respondent="respondent" if panel else None,
                    arm="arm",
                )
        except DesignError as error:
            messages.append((f"change {wave}", str(error)))
            continue
        tables.append(table)
    if not tables:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    return pd.concat(tables, ignore_index=True)


def _settings_table(
    study: Study, *, run_id: str, bootstrap_draws: int, seed: int, lee_draws: int
) -> pd.DataFrame:
    packages = ["trustshift", "numpy", "pandas", "scipy", "statsmodels", "pingouin", "duckdb"]
    packages += ["matplotlib", "jinja2"]
    rows = [
        ("seed", str(seed)),
        ("bootstrap_draws", str(bootstrap_draws)),
        ("randomization_draws", str(bootstrap_draws)),
        ("lee_bounds_draws", str(lee_draws)),
        ("confidence", "0.95"),
        ("minimum_cell_size", str(study.design.minimum_cell_size)),
        ("assignment", study.design.assignment),
        ("sampling", study.design.sampling),
        ("study_title", study.title),
        ("study_file_sha256", study.file_hash),
    ]
    for package in packages:
        try:
            rows.append((f"version {package}", distribution_version(package)))
        except PackageNotFoundError:
            rows.append((f"version {package}", "not installed"))
    rows.append(("version python", platform.python_version()))
    return pd.DataFrame(rows, columns=["name", "value"])


def _code_version() -> str:
    try:
        return distribution_version("trustshift")
    except PackageNotFoundError:
        return "unknown"


def export_estimates(estimates: pd.DataFrame, directory: Path) -> tuple[Path, Path]:
    """Write the estimates at full precision as CSV and Parquet; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / "estimates.csv"
    parquet_path = directory / "estimates.parquet"
    estimates.to_csv(csv_path, index=False)
    estimates.to_parquet(parquet_path, index=False)
    return csv_path, parquet_path


def results_directory(study: Study, run_id: str) -> Path:
    """Where a run's exports go: ``results/<run_id>`` beside the study file."""
    return study.root / "results" / run_id


def estimate_study(
    study: Study,
    *,
    run_id: str | None = None,
    bootstrap_draws: int = 9999,
    seed: int = DEFAULT_SEED,
    lee_draws: int = 500,
) -> EstimationRun:
    """Compute every result table of a study and write them to its warehouse as one run.

    Reads the stored waves (analysis values, identifying columns never present), scores the
    constructs and family indices, then writes: run_settings, run_warnings, input_files,
    sample_sizes, outcome_catalogue, index_components, descriptives, missing_answers,
    reliability, attrition, attrition_tests, lee_bounds (panels), estimates (ANCOVA on each
    later wave for panels and DiD, with wild bootstrap and randomization p-values and
    within-family BH and sharpened q-values), trust_shift, intention_cascade and risk_beliefs,
    keyed by ``(run_id, study_id)``; exports the estimates as CSV and Parquet under
    ``results/<run_id>``. The ``runs`` row records the status (``failed`` with the message
    when a step raises).
    """
    if (
        isinstance(bootstrap_draws, bool)
        or not isinstance(bootstrap_draws, int)
        or bootstrap_draws < 0
    ):
        raise ValueError(
            f"estimate_study: bootstrap_draws must be a non-negative integer; got "
            f"{bootstrap_draws!r}. Pass for example 9999 (0 skips the bootstrap)."
        )
    run_id = run_id or new_run_id()
    database = warehouse_path(study)
    started = datetime.now()
    with connect(database) as connection:
        create_result_tables(connection)
        stored = connection.execute(
            "SELECT wave, version, sha256 FROM waves WHERE study_id = ? AND status = 'stored' "
            "ORDER BY wave_order",
            [study.id],
        ).fetchall()
        keys, validation_caveat = analysable_keys(connection, study)
        connection.execute("DELETE FROM runs WHERE run_id = ?", [run_id])
        connection.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, NULL, 'running', ?, ?, ?, NULL)",
            [
                run_id,
                study.id,
                RUN_KIND,
                started,
                _code_version(),
                study.file_hash,
                json.dumps([{"wave": w, "version": v, "sha256": h} for w, v, h in stored]),
            ],
        )
    messages: list[tuple[str, str]] = []
    if validation_caveat:
        messages.append(("validation", validation_caveat))
    try:
        responses = analysable_responses(study, keys)
        repeated = responses["respondent"].notna() & responses.duplicated(
            ["wave", "respondent"], keep="first"
        )
        if repeated.any():
            # Validation quarantines repeated submissions; if some remain (no validation, or a
            # release), one interview per respondent and wave is kept so panels stay linked.
            messages.append(
                (
                    "responses",
                    f"{int(repeated.sum())} repeated interview(s) of a respondent within a wave "
                    "were left out (the first interview is kept). Validate the waves to review "
                    "them.",
                )
            )
            responses = responses[~repeated].reset_index(drop=True)
        analysed_waves = [name for name in study.wave_names if name in set(responses["wave"])]
        if len(analysed_waves) < 2:
            raise EstimationError(
                f"estimate_study: study {study.id!r} has analysable interviews in "
                f"{len(analysed_waves)} wave(s) ({analysed_waves}); an effect compares a later "
                "wave with the baseline. Ingest and validate a second wave "
                f"(`trustshift run {study.path}`), or release quarantined rows if a whole "
                "wave was quarantined."
            )
        data = analysis_data(study, responses)
        messages.extend(data.messages)
        described, missing = descriptives(study, data)
        tables: dict[str, pd.DataFrame] = {
            "input_files": input_files(study, data),
            "sample_sizes": sample_sizes(data),
            "outcome_catalogue": outcome_catalogue(data),
            "index_components": data.index_components,
            "descriptives": described,
            "missing_answers": missing,
            "reliability": reliability(study, data, messages),
            "trust_shift": trust_shift(study, data),
            "intention_cascade": intention_cascade(study, data),
            "risk_beliefs": risk_beliefs(study, data),
        }
        if study.design.sampling == "panel" and study.design.assignment != "pre_post":
            attrition, tests, bounds = attrition_results(
                data, lee_draws=lee_draws, seed=seed, messages=messages
            )
        else:
            attrition, tests, bounds = (
                pd.DataFrame(columns=[c for c, _ in RESULT_TABLES[name]])
                for name in ("attrition", "attrition_tests", "lee_bounds")
            )
        tables.update({"attrition": attrition, "attrition_tests": tests, "lee_bounds": bounds})
        tables["balance"], tables["balance_joint"] = balance_results(study, data, messages)
        tables["within_arm_change"] = change_results(study, data, messages)
        tables["estimates"] = effect_estimates(
            study,
            data,
            bootstrap_draws=bootstrap_draws,
            seed=seed,
            messages=messages,
            reliability_table=tables["reliability"],
        )
        tables["run_settings"] = _settings_table(
            study, run_id=run_id, bootstrap_draws=bootstrap_draws, seed=seed, lee_draws=lee_draws
        )
        with connect(database) as connection:
            tables.update(quality_tables(connection, study, data.responses))
        tables["run_warnings"] = pd.DataFrame(messages, columns=["step", "message"])
        exports = export_estimates(
            _conform("estimates", tables["estimates"]), results_directory(study, run_id)
        )
        with connect(database) as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                written = write_results(connection, run_id=run_id, study_id=study.id, tables=tables)
                connection.execute(
                    "UPDATE runs SET status = 'finished', finished_at = ?, message = ? "
                    "WHERE run_id = ?",
                    [datetime.now(), f"{len(messages)} caveat(s) recorded", run_id],
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
    except BaseException as error:
        with connect(database) as connection:
            connection.execute(
                "UPDATE runs SET status = 'failed', finished_at = ?, message = ? WHERE run_id = ?",
                [datetime.now(), f"{type(error).__name__}: {error}"[:2000], run_id],
            )
        raise
    return EstimationRun(
        run_id=run_id,
        study_id=study.id,
        warehouse=database,
        tables=written,
        exports=exports,
        warnings=tuple(f"{step}: {message}" for step, message in messages),
    )


def estimate_command(
    study_file: Path,
    *,
    run_id: str | None = None,
    bootstrap_draws: int = 9999,
    seed: int = DEFAULT_SEED,
) -> None:
    """`trustshift estimate`: estimate a study and print what was written."""
    study = load_study(study_file)
    run = estimate_study(study, run_id=run_id, bootstrap_draws=bootstrap_draws, seed=seed)
    print(f"Estimation run {run.run_id} of study {run.study_id!r} written to {run.warehouse}")
    for table, rows in run.tables.items():
        print(f"  {table}: {rows} rows")
    for path in run.exports:
        print(f"  exported {path}")
    if run.warnings:
        print(f"  {len(run.warnings)} caveat(s) recorded in run_warnings")
