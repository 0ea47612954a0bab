"""Run an estimation: compute every result table of a study and write them as one run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from flows import api
from flows.assignment_record import read_assignment_record
from flows.estimation.analysis_data import (
    AnalysisData,
    analysable_keys,
    analysable_responses,
    analysis_data,
    items_read,
    without_unused_items,
)
from flows.estimation.conclusions import add_conclusions
from flows.estimation.descriptive_tables import (
    descriptives,
    input_files,
    intention_cascade,
    missing_answers,
    outcome_catalogue,
    quality_tables,
    reliability,
    risk_beliefs,
    sample_sizes,
    trust_shift,
)
from flows.estimation.errors import EstimationError
from flows.estimation.exposure_tables import exposure_results
from flows.estimation.heterogeneity_tables import effects_by_group
from flows.estimation.inference_tables import (
    attrition_results,
    balance_results,
    change_results,
    effect_estimates,
    lee_bounds_total_draws,
)
from flows.estimation.results import (
    RESULT_TABLES,
    RUN_KIND,
    conform_table,
    create_result_tables,
    export_estimates,
    new_run_id,
    results_directory,
    write_results,
)
from flows.estimation.trust_effects import trust_source_effects
from flows.faults import fault_point
from flows.locations import check_run_id
from flows.locking import study_lock
from flows.orchestration.records import record_run_end, record_run_start
from flows.progress import Advance, stage_progress
from flows.software import software_versions
from flows.stored_wave import RowFilter, stored_items
from flows.study import Study, load_study
from flows.warehouse import WarehouseConnection, WarehouseLocation, connect, warehouse_path

DEFAULT_SEED = 20261130

# The role columns the analysis uses: the submission, enumerator, interview times and
# consent (already applied) stay in the warehouse (0.2 GB at three waves of 1,000,000).
ESTIMATION_ROLES = ("respondent", "cluster", "stratum", "arm", "treated", "weight")

# What the estimation's progress counts: reading, scoring, descriptive tables, attrition and
# Lee bounds, balance, within-arm change, effects, exposure and group effects, writing.
ESTIMATION_STEPS = 9


@dataclass(frozen=True, slots=True, kw_only=True)
class EstimationRun:
    """What one call of :func:`estimate_study` wrote."""

    run_id: str
    study_id: str
    warehouse: WarehouseLocation
    tables: dict[str, int]
    exports: tuple[Path, ...]
    warnings: tuple[str, ...] = field(default=())


def _settings_table(
    study: Study, *, run_id: str, bootstrap_draws: int, seed: int, lee_draws: int
) -> pd.DataFrame:
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
    record = read_assignment_record(study)
    if record is not None:
        rows.append(("assignment_record_sha256", record.sha256()))
    rows.extend((f"version {name}", found) for name, found in software_versions().items())
    return pd.DataFrame(rows, columns=["name", "value"])


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
    within-family BH and sharpened q-values; for quasi-experimental studies also
    propensity-weighted "ipw" effects of self-reported exposure, with their weighted balance
    in exposure_balance), effects_by_group (panels with a comparison group and a declared
    heterogeneity dimension: the ANCOVA effect in each group of a baseline answer, and the
    difference), trust_shift, intention_cascade and risk_beliefs,
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
    run_id = check_run_id(run_id, caller="estimate_study") if run_id else new_run_id()
    with (
        study_lock(study, purpose=f"estimate {run_id}"),
        stage_progress(f"estimating {study.id}", ESTIMATION_STEPS) as advance,
    ):
        return _estimate_study(
            study,
            run_id=run_id,
            bootstrap_draws=bootstrap_draws,
            seed=seed,
            lee_draws=lee_draws,
            advance=advance,
        )


def _estimate_study(
    study: Study,
    *,
    run_id: str,
    bootstrap_draws: int,
    seed: int,
    lee_draws: int,
    advance: Advance,
) -> EstimationRun:
    database = warehouse_path(study)
    started = datetime.now()
    # One connection reads everything the run needs (the waves once, block by block);
    # one more writes the results.
    with connect(database) as connection:
        _limit_cache(connection)
        create_result_tables(connection)
        stored = connection.execute(
            "SELECT wave, version, sha256 FROM waves WHERE study_id = ? AND status = 'stored' "
            "ORDER BY wave_order",
            [study.id],
        ).fetchall()
        keys, validation_caveat = analysable_keys(connection, study)
        record_run_start(
            study,
            run_id=run_id,
            kind=RUN_KIND,
            inputs={"waves": [{"wave": w, "version": v, "sha256": h} for w, v, h in stored]},
            started_at=started,
            connection=connection,
        )
        try:
            stored_files = api.waves(study, connection=connection)
            # Only the items scored or named by a result table, and only analysable rows;
            # the missing answers read each wave's codes of every item later, one at a time.
            items_held = stored_items(connection, study)
            responses = analysable_responses(
                study,
                keys,
                connection=connection,
                items=items_read(study),
                role_columns=ESTIMATION_ROLES,
            )
            del keys
        except BaseException as error:
            _record_failure(study, run_id, error, connection=connection)
            raise
    advance(1)
    messages: list[tuple[str, str]] = []
    if validation_caveat:
        messages.append(("validation", validation_caveat))
    try:
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
        present = set(responses["wave"].unique())
        analysed_waves = [name for name in study.wave_names if name in present]
        if len(analysed_waves) < 2:
            raise EstimationError(
                f"estimate_study: study {study.id!r} has analysable interviews in "
                f"{len(analysed_waves)} wave(s) ({analysed_waves}); an effect compares a later "
                "wave with the baseline. Ingest and validate a second wave "
                f"(`trustshift run {study.path}`), or release quarantined rows if a whole "
                "wave was quarantined."
            )
        data = analysis_data(study, responses)
        # The analysis frame holds every column: the read frame is not needed again.
        del responses
        messages.extend(data.messages)
        advance(1)
        tables: dict[str, pd.DataFrame] = {
            "input_files": input_files(study, data, stored_files),
            "sample_sizes": sample_sizes(data),
            "outcome_catalogue": outcome_catalogue(data),
            "index_components": data.index_components,
            "reliability": reliability(study, data, messages),
            "trust_shift": trust_shift(study, data),
            "intention_cascade": intention_cascade(study, data),
            "risk_beliefs": risk_beliefs(study, data),
            "descriptives": descriptives(study, data),
        }
        # The tables above read every item; the inference tables only their declared ones.
        data = without_unused_items(study, data)
        advance(1)
        if study.design.sampling == "panel" and study.design.assignment != "pre_post":
            with stage_progress(
                "Lee bounds draws", lee_bounds_total_draws(data, lee_draws)
            ) as draws_done:
                attrition, tests, bounds = attrition_results(
                    study,
                    data,
                    lee_draws=lee_draws,
                    seed=seed,
                    messages=messages,
                    on_draws_done=draws_done,
                )
        else:
            attrition, tests, bounds = (
                pd.DataFrame(columns=[c for c, _ in RESULT_TABLES[name]])
                for name in ("attrition", "attrition_tests", "lee_bounds")
            )
        tables.update({"attrition": attrition, "attrition_tests": tests, "lee_bounds": bounds})
        advance(1)
        tables["balance"], tables["balance_joint"] = balance_results(study, data, messages)
        advance(1)
        tables["within_arm_change"] = change_results(study, data, messages)
        advance(1)
        tables["estimates"] = effect_estimates(
            study,
            data,
            bootstrap_draws=bootstrap_draws,
            seed=seed,
            messages=messages,
            reliability_table=tables["reliability"],
        )
        advance(1)
        exposure_estimates, tables["exposure_balance"] = exposure_results(study, data, messages)
        if not exposure_estimates.empty:
            tables["estimates"] = (
                pd.concat([tables["estimates"], exposure_estimates], ignore_index=True)
                if not tables["estimates"].empty
                else exposure_estimates
            )
        tables["estimates"] = add_conclusions(study, tables["estimates"], messages)
        tables["effects_by_group"] = effects_by_group(study, data, messages)
        tables["trust_source_effects"] = trust_source_effects(
            study, data, bootstrap_draws=bootstrap_draws, seed=seed, messages=messages
        )
        advance(1)
        tables["run_settings"] = _settings_table(
            study, run_id=run_id, bootstrap_draws=bootstrap_draws, seed=seed, lee_draws=lee_draws
        )
        tables["run_warnings"] = pd.DataFrame(messages, columns=["step", "message"])
        exports = export_estimates(
            conform_table("estimates", tables["estimates"]),
            results_directory(study, run_id),
            minimum=study.design.minimum_cell_size,
        )
        fault_point("estimate-after-export")
        analysed_per_wave = data.responses.groupby("wave").size()
        with connect(database) as connection:
            _limit_cache(connection)
            # Missing answers count the codes as answered: each wave read alone, analysed
            # rows only.
            tables["missing_answers"] = missing_answers(
                study, data, _coded_waves(study, data, connection), items_held=items_held
            )
            tables.update(quality_tables(connection, study, analysed_per_wave))
            connection.execute("BEGIN TRANSACTION")
            try:
                written = write_results(connection, run_id=run_id, study_id=study.id, tables=tables)
                fault_point("estimate-mid-transaction")
                record_run_end(
                    study,
                    run_id=run_id,
                    status="finished",
                    message=f"{len(messages)} caveat(s) recorded",
                    finished_at=datetime.now(),
                    connection=connection,
                )
                connection.execute("COMMIT")
                advance(1)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
    except BaseException as error:
        _record_failure(study, run_id, error)
        raise
    return EstimationRun(
        run_id=run_id,
        study_id=study.id,
        warehouse=database,
        tables=written,
        exports=exports,
        warnings=tuple(f"{step}: {message}" for step, message in messages),
    )


# DuckDB keeps the table blocks it has read in its buffer pool, up to 80% of the machine's
# memory by default: reading three waves of 1,000,000 interviews cached gigabytes of answers
# in the process. The estimation reads each block once, so a small pool loses nothing.
ESTIMATION_DUCKDB_MEMORY = "512MB"


def _limit_cache(connection: WarehouseConnection) -> None:
    """Cap an embedded warehouse connection's buffer pool (PostgreSQL caches server-side)."""
    if isinstance(connection, duckdb.DuckDBPyConnection):
        connection.execute(f"SET memory_limit = '{ESTIMATION_DUCKDB_MEMORY}'")


def _coded_waves(
    study: Study, data: AnalysisData, connection: WarehouseConnection
) -> Iterator[pd.DataFrame]:
    """The analysed rows of the stored waves with codes as answered, one wave at a time."""
    analysed = data.responses[["wave", "row_number"]]
    for wave in study.wave_names:
        rows = analysed.loc[analysed["wave"] == wave, "row_number"].to_numpy(dtype="int64")
        yield api.responses(
            study,
            coded=True,
            waves=[wave],
            keep=_rows_numbered(rows),
            connection=connection,
        )


def _rows_numbered(rows: np.ndarray) -> RowFilter:
    """The rows of a wave whose row numbers are in ``rows``."""

    def keep(roles: pd.DataFrame) -> np.ndarray:
        return np.isin(roles["row_number"].to_numpy(), rows)

    return keep


def _record_failure(
    study: Study,
    run_id: str,
    error: BaseException,
    *,
    connection: WarehouseConnection | None = None,
) -> None:
    """Mark the run failed with the error's message."""
    record_run_end(
        study,
        run_id=run_id,
        status="failed",
        message=f"{type(error).__name__}: {error}"[:2000],
        finished_at=datetime.now(),
        connection=connection,
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
