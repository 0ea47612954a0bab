"""The installed versions of the software that computes a run's results."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

# Distributions whose code decides the numbers, tables or figures of a run: the estimators
# and their linear algebra, the reading of the warehouse and exports, the validation that
# picks the analysed rows, and the report. Recorded in every run's settings (the report's
# methods appendix) and part of the fingerprint that decides whether a run is reused.
COMPUTING_DISTRIBUTIONS = (
    "trustshift",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "pingouin",
    "scikit-learn",
    "duckdb",
    "pyarrow",
    "great-expectations",
    "matplotlib",
    "jinja2",
)


def distribution_version(name: str) -> str:
    """The installed version of a distribution, or ``"not installed"``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def software_versions() -> dict[str, str]:
    """The resolved version of every computing distribution, and of Python, by name."""
    found = {name: distribution_version(name) for name in COMPUTING_DISTRIBUTIONS}
    found["python"] = platform.python_version()
    return found
