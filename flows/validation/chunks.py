"""Which expectations a wave may check chunk by chunk, and GX's results of the chunks as one.

A row-level column-map expectation decides each row on that row alone, so its unexpected
count over a wave is the sum over any split of the wave's rows, and GX's verdict follows
from the counts (``mostly`` on the share of conforming non-missing values). Every other
expectation (a uniqueness, a mean, a column's existence or type) is checked on the whole
wave, on only the columns it reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.validator.validation_statistics import calc_validation_statistics

# Column-map expectations whose verdict on a row reads that row only (GX's own metric
# per row), so chunks of rows give exact counts.
ROW_EXACT_TYPES: frozenset[str] = frozenset(
    {
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
    }
)
# Expectation meta key marking a copy's position in the declared suite (GX gives copies
# of registered expectations no id); removed again when the chunks are combined.
POSITION_META = "trustshift_position"
# GX's SUMMARY format keeps the first 20 unexpected values.
PARTIAL_COUNT = 20


def split_suite(suite: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    """Positions of the suite's expectations checked per chunk, and those on the whole wave."""
    chunked: list[int] = []
    whole: list[int] = []
    for position, expectation in enumerate(suite.get("expectations", [])):
        (chunked if expectation.get("type") in ROW_EXACT_TYPES else whole).append(position)
    return chunked, whole


def positioned(suite: Mapping[str, Any], positions: Sequence[int], name: str) -> dict[str, Any]:
    """A copy of the suite holding only the expectations at ``positions``, each marked with
    its declared position."""
    declared = suite["expectations"]
    return {
        **{key: value for key, value in suite.items() if key != "id"},
        "name": name,
        "expectations": [
            {
                **{k: v for k, v in declared[p].items() if k not in ("id", "rendered_content")},
                "meta": {**declared[p].get("meta", {}), POSITION_META: p},
            }
            for p in positions
        ],
    }


def _declared_position(result: ExpectationValidationResult) -> int:
    config = result.expectation_config
    if config is None or POSITION_META not in (config.meta or {}):
        raise RuntimeError(
            "combine_results: a Great Expectations result has lost its expectation's "
            "position; found a result without meta."
            f"{POSITION_META}. Report this with the suite file."
        )
    return int(config.meta[POSITION_META])


def _combined_map_result(
    parts: Sequence[ExpectationValidationResult], mostly: float
) -> tuple[bool, dict[str, Any]]:
    """GX's SUMMARY result and verdict of a column-map expectation over all chunks."""
    details = [part.result or {} for part in parts]
    element_count = sum(int(d.get("element_count") or 0) for d in details)
    unexpected_count = sum(int(d.get("unexpected_count") or 0) for d in details)
    missing = [d.get("missing_count") for d in details]
    skip_missing = all(value is None for value in missing)
    missing_count = 0 if skip_missing else sum(int(value or 0) for value in missing)
    nonnull_count = element_count - missing_count
    # GX's rule (ColumnMapExpectation._validate): vacuously true on no values, else the
    # share of conforming values among the non-missing ones reaches ``mostly``.
    if element_count == 0 or nonnull_count == 0:
        success = True
    else:
        success = (nonnull_count - unexpected_count) / nonnull_count >= mostly
    partial: list[Any] = []
    partial_index: list[Any] = []
    for d in details:
        partial.extend(d.get("partial_unexpected_list") or [])
        partial_index.extend(d.get("partial_unexpected_index_list") or [])
    partial = partial[:PARTIAL_COUNT]
    result: dict[str, Any] = {
        "element_count": element_count,
        "unexpected_count": unexpected_count,
        "partial_unexpected_list": partial,
    }
    total_percent = 100.0 * unexpected_count / element_count if element_count else None
    if skip_missing:
        result["unexpected_percent"] = total_percent
    else:
        result["unexpected_percent"] = (
            100.0 * unexpected_count / nonnull_count if nonnull_count else None
        )
        result["missing_count"] = missing_count
        result["missing_percent"] = 100.0 * missing_count / element_count if element_count else None
        result["unexpected_percent_total"] = total_percent
        result["unexpected_percent_nonmissing"] = result["unexpected_percent"]
    counts = Counter(_hashable(value) for value in partial).most_common()
    try:
        counts.sort(key=lambda pair: (-pair[1], pair[0]))
    except TypeError:
        counts.sort(key=lambda pair: -pair[1])
    result["partial_unexpected_counts"] = [{"value": v, "count": c} for v, c in counts]
    if any("partial_unexpected_index_list" in d for d in details):
        result["partial_unexpected_index_list"] = partial_index[:PARTIAL_COUNT]
    return success, result


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def combine_results(
    registered: Any,
    declared: Sequence[Mapping[str, Any]],
    chunk_results: Sequence[ExpectationSuiteValidationResult],
    whole_result: ExpectationSuiteValidationResult | None,
) -> ExpectationSuiteValidationResult:
    """One suite's result from its chunks' results and its whole-wave result.

    ``registered`` is the suite as registered in the context (its expectations carry ids);
    the combined result lists its expectations in declared order with their configurations.
    """
    by_position: dict[int, list[ExpectationValidationResult]] = {}
    for outcome in [*chunk_results, *([whole_result] if whole_result is not None else [])]:
        for result in outcome.results:
            by_position.setdefault(_declared_position(result), []).append(result)
    combined: list[ExpectationValidationResult] = []
    for position, expectation in enumerate(declared):
        parts = by_position.get(position, [])
        if not parts:
            raise RuntimeError(
                f"combine_results: expectation {position} ({expectation.get('type')!r}) of "
                f"suite {registered.name!r} has no result; found results for "
                f"{sorted(by_position)}. Check the suite with load_suites."
            )
        config = registered.expectations[position].configuration
        broken = [part for part in parts if (part.exception_info or {}).get("raised_exception")]
        if broken:
            success, details, exception_info = False, {}, broken[0].exception_info
        elif len(parts) == 1 and expectation.get("type") not in ROW_EXACT_TYPES:
            success, details, exception_info = bool(parts[0].success), parts[0].result, None
        else:
            mostly = float(expectation.get("kwargs", {}).get("mostly", 1.0))
            success, details = _combined_map_result(parts, mostly)
            exception_info = None
        combined.append(
            ExpectationValidationResult(
                success=success,
                expectation_config=config,
                result=details,
                exception_info=exception_info
                or {
                    "raised_exception": False,
                    "exception_traceback": None,
                    "exception_message": None,
                },
            )
        )
    statistics = calc_validation_statistics(combined)
    first = chunk_results[0] if chunk_results else whole_result
    meta = dict(first.meta) if first is not None else {}
    return ExpectationSuiteValidationResult(
        success=statistics.success,
        results=combined,
        suite_name=registered.name,
        statistics={
            "evaluated_expectations": statistics.evaluated_expectations,
            "successful_expectations": statistics.successful_expectations,
            "unsuccessful_expectations": statistics.unsuccessful_expectations,
            "success_percent": statistics.success_percent,
        },
        meta=meta,
    )
