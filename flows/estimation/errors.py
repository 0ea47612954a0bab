"""The error raised when a study cannot be estimated from what its warehouse holds."""

from __future__ import annotations

from flows.errors import TrustshiftError


class EstimationError(TrustshiftError):
    """A study cannot be estimated from what the warehouse holds."""

    exit_code = 1
