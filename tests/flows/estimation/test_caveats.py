"""Only the project's statistical caveats become caveats of a run; other warnings surface."""

from __future__ import annotations

import warnings

import pytest

from flows.estimation.caveats import caveat_warnings, record_caveats
from measurement.errors import FewClustersWarning, StatisticalCaveatWarning


def test_a_statistical_caveat_is_recorded_and_does_not_escape() -> None:
    messages: list[tuple[str, str]] = []
    with record_caveats("effects endline", messages):
        warnings.warn("only 8 clusters", FewClustersWarning, stacklevel=1)
    assert messages == [("effects endline", "only 8 clusters")]


def test_a_numerical_warning_is_not_a_caveat_and_meets_warnings_as_errors() -> None:
    messages: list[tuple[str, str]] = []
    with pytest.raises(RuntimeWarning, match="divide by zero"), record_caveats("x", messages):
        warnings.warn("divide by zero encountered", RuntimeWarning, stacklevel=1)
    assert messages == []


def test_a_warning_the_filters_show_is_shown_after_the_step_not_recorded() -> None:
    messages: list[tuple[str, str]] = []
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        with record_caveats("x", messages):
            warnings.warn("a deprecation in a library", DeprecationWarning, stacklevel=1)
            warnings.warn("poor overlap", StatisticalCaveatWarning, stacklevel=1)
    assert messages == [("x", "poor overlap")]
    assert [str(w.message) for w in shown] == ["a deprecation in a library"]


def test_a_warning_the_filters_ignore_stays_ignored() -> None:
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("ignore")
        with caveat_warnings() as caveats:
            warnings.warn("ignored by a named filter", UserWarning, stacklevel=1)
            warnings.warn("few clusters", FewClustersWarning, stacklevel=1)
    assert [str(w.message) for w in caveats] == ["few clusters"]
    assert shown == []
