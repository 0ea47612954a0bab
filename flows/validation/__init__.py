"""Validate survey waves: GX suites from a study, field-quality checks, quarantine, storage.

Names are loaded from their modules when first used: validation runs Great Expectations
(seconds to import), and readers of the quarantine tables (the estimation, the status
command) need only the storage module, not GX.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULE_OF = {
    "ENUMERATOR_COLUMNS": "checks",
    "FOLLOW_UP_COLUMNS": "checks",
    "ITEM_RATE_COLUMNS": "checks",
    "RECHECK_COLUMNS": "wave",
    "ROW_FLAG_COLUMNS": "wave",
    "SUMMARY_COLUMNS": "wave",
    "WaveValidation": "wave",
    "analysable_rows": "storage",
    "build_suites": "suites",
    "create_validation_tables": "storage",
    "load_suites": "suites",
    "release_quarantined": "storage",
    "store_validation": "storage",
    "suite_name": "suites",
    "validate_wave": "wave",
    "write_suites": "suites",
}

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


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'flows.validation' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"flows.validation.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
