"""Estimate a study: scores, indices and every result table of one run, written to the warehouse.

``estimate_study`` reads the stored waves of a study (never the raw files), builds construct
scores and a summary index per outcome family with :mod:`measurement`, computes the result
tables and writes them, keyed by ``(run_id, study_id)``, to the study's warehouse. The report
(:mod:`flows.report`) reads every number it shows from these tables.

Modules: ``results`` (the result tables in the warehouse, run ids, exports), ``analysis_data``
(the analysis frame and its outcomes), ``descriptive_tables`` and ``inference_tables`` (the
result tables), ``exposure_tables`` (propensity-weighted exposure effects and their balance
for quasi-experimental studies), ``heterogeneity_tables`` (effects by who decides), ``caveats``
(statistical warnings kept as run messages), ``errors`` and ``run`` (``estimate_study`` and the
``trustshift estimate`` command).
"""

from __future__ import annotations

from flows.estimation.analysis_data import (
    CAMPAIGN,
    COMPARISON,
    EVERYONE,
    AnalysisData,
    OutcomeSpec,
    analysis_data,
)
from flows.estimation.errors import EstimationError
from flows.estimation.results import (
    RESULT_TABLES,
    export_estimates,
    latest_run_id,
    new_run_id,
    read_result,
    results_directory,
    run_record,
)
from flows.estimation.run import DEFAULT_SEED, EstimationRun, estimate_command, estimate_study

__all__ = [
    "CAMPAIGN",
    "COMPARISON",
    "DEFAULT_SEED",
    "EVERYONE",
    "RESULT_TABLES",
    "AnalysisData",
    "EstimationError",
    "EstimationRun",
    "OutcomeSpec",
    "analysis_data",
    "estimate_command",
    "estimate_study",
    "export_estimates",
    "latest_run_id",
    "new_run_id",
    "read_result",
    "results_directory",
    "run_record",
]
