"""The errors the shell raises, each with a message that names the file, place and fix."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class TrustshiftError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 1


class StudyFileError(TrustshiftError, ValueError):
    """A study or instrument file is invalid."""

    exit_code = 2


class IngestError(TrustshiftError, ValueError):
    """A survey file cannot be ingested; nothing was written."""

    exit_code = 1


class DataQualityError(TrustshiftError):
    """A wave failed a structural validation check."""

    exit_code = 1


class WarehouseError(TrustshiftError):
    """The warehouse path does not hold a DuckDB warehouse; nothing was written."""

    exit_code = 2


class WarehouseBusyError(TrustshiftError):
    """Another process holds the warehouse or the study (a transient condition)."""

    exit_code = 1


def format_validation_error(path: Path | str, error: Exception) -> str:
    """One message per problem: the key path in the file, what is wrong, how to fix it."""
    if not isinstance(error, ValidationError):
        return f"{path}: {error}"
    lines = [f"{path}: {error.error_count()} problem(s) in the file:"]
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        kind = problem["type"]
        if kind == "extra_forbidden":
            fix = "remove it or check its spelling against the documented keys"
            what = "unknown key"
        elif kind == "missing":
            fix = "add it"
            what = "required key is missing"
        elif kind == "string_pattern_mismatch":
            what = f"{problem.get('input')!r} is not a valid name"
            fix = "use lowercase letters, digits and underscores, starting with a letter"
        else:
            what = problem["msg"]
            given = problem.get("input")
            fix = f"found {given!r}" if not isinstance(given, dict | list) else "fix the value"
        lines.append(f"  - {location}: {what}; {fix}")
    return "\n".join(lines)


class ReportError(TrustshiftError):
    """The report could not be written in full (the PDF printer is missing or failed)."""

    exit_code = 1
