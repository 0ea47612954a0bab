"""Validate survey waves: GX suites from a study, field-quality checks, quarantine, storage."""

from flows.validation.checks import ENUMERATOR_COLUMNS, FOLLOW_UP_COLUMNS, ITEM_RATE_COLUMNS
from flows.validation.storage import (
    analysable_rows,
    create_validation_tables,
    release_quarantined,
    store_validation,
)
from flows.validation.suites import build_suites, load_suites, suite_name, write_suites
from flows.validation.wave import (
    RECHECK_COLUMNS,
    ROW_FLAG_COLUMNS,
    SUMMARY_COLUMNS,
    WaveValidation,
    validate_wave,
)

__all__ = [
    "ENUMERATOR_COLUMNS",
    "FOLLOW_UP_COLUMNS",
    "ITEM_RATE_COLUMNS",
    "RECHECK_COLUMNS",
    "ROW_FLAG_COLUMNS",
    "SUMMARY_COLUMNS",
    "WaveValidation",
    "analysable_rows",
    "build_suites",
    "create_validation_tables",
    "load_suites",
    "release_quarantined",
    "store_validation",
    "suite_name",
    "validate_wave",
    "write_suites",
]
