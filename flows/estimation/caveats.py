"""Record the statistical caveat warnings of one estimation step as messages of the run.

Only the project's own :class:`~measurement.errors.StatisticalCaveatWarning` family (few
clusters, poor overlap, low reliability, ...) is a caveat of a result. Every other warning
(a numerical problem, a deprecation) is not caught here: it is raised or shown as the
warning filters in force say, so warnings-as-errors still sees it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from measurement.errors import StatisticalCaveatWarning


@contextmanager
def caveat_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Collect the statistical caveat warnings raised inside; let every other warning through.

    Caveats are collected however the filters treat warnings; other warnings meet the
    filters in force (an ``error`` filter raises where the warning is issued), and those the
    filters would show are shown once the block ends.
    """
    caveats: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StatisticalCaveatWarning)
            yield caveats
    finally:
        _sort_out(caught, caveats)


def _sort_out(
    caught: list[warnings.WarningMessage], caveats: list[warnings.WarningMessage]
) -> None:
    for warning in caught:
        if issubclass(warning.category, StatisticalCaveatWarning):
            caveats.append(warning)
        else:
            warnings.warn_explicit(
                warning.message,
                warning.category,
                warning.filename,
                warning.lineno,
                source=warning.source,
            )


@contextmanager
def record_caveats(step: str, collected: list[tuple[str, str]]) -> Iterator[None]:
    """Record the statistical caveat warnings of one step as ``(step, message)`` rows."""
    with caveat_warnings() as caveats:
        yield
    collected.extend((step, str(warning.message)) for warning in caveats)
