"""Run suites with Great Expectations 1.x and build Data Docs that open without a network."""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.execution_engine import pandas_execution_engine

from flows.progress import stage_progress
from flows.validation.chunks import combine_results, positioned, split_suite
from flows.validation.suites import to_gx_suite

DOCS_SITE = "trustshift"
# The one in-memory data source of a run_suites call.
DATA_SOURCE = "trustshift"
# Interviews per chunk a wave's suites are validated on: GX copies the columns an
# expectation reads (often twice), so memory follows the chunk, not the wave.
CHUNK_ROWS = 100_000


@dataclass(frozen=True, slots=True, kw_only=True)
class SuiteRun:
    """One suite to run on one frame, with how much detail GX should return."""

    suite: Mapping[str, Any]
    target: str
    frame: pd.DataFrame
    result_format: str
    # column -> codes set aside as missing before the suite reads it (blanked per chunk).
    blanked: Mapping[str, Sequence[float]] = field(default_factory=dict)


def _fresh_context(data_docs_dir: Path | None) -> Any:
    # A fresh in-memory context per wave: cheap (milliseconds), and its results store holds
    # exactly this run's results, so the Data Docs index lists nothing else.
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    sites: dict[str, Any] = {}
    if data_docs_dir is not None:
        sites[DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(Path(data_docs_dir).resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    context.variables.data_docs_sites = sites
    return context


def run_suites(
    runs: Sequence[SuiteRun],
    *,
    data_docs_dir: Path | None,
    chunk_rows: int = CHUNK_ROWS,
    progress: str = "validating chunks",
) -> tuple[list[ExpectationSuiteValidationResult], Path | None]:
    """Validate each suite on its frame; build offline Data Docs when a folder is given.

    Suites on the wave run chunk by chunk (``chunk_rows`` interviews): the row-level
    column-map expectations on every chunk, their results combined into GX's result for the
    whole wave; the others once on the whole wave, on only the columns they read. One GX
    context, data source and suite per call (one wave), reused by every chunk. Chunks done
    of all are reported as ``progress`` (see ``flows.progress``).
    """
    if chunk_rows < 1:
        raise ValueError(f"run_suites: chunk_rows must be at least 1; found {chunk_rows!r}.")
    context = _fresh_context(data_docs_dir)
    # GX fingerprints every in-memory frame under 1 GB (pd.util.hash_pandas_object, about
    # 1 s per suite on 1,000,000 rows); the fingerprint is only a batch marker, so skip it.
    threshold = pandas_execution_engine.HASH_THRESHOLD
    pandas_execution_engine.HASH_THRESHOLD = 0
    try:
        return _run(
            context, runs, data_docs_dir=data_docs_dir, chunk_rows=chunk_rows, progress=progress
        )
    finally:
        pandas_execution_engine.HASH_THRESHOLD = threshold
        # GX's global project keeps the last context made (get_context registers it), and its
        # data source the last batch of every frame: the wave's checked columns, 0.5 GB at
        # 1,000,000 interviews, would stay alive into the next stage of a run.
        if DATA_SOURCE in context.data_sources.all():
            context.data_sources.delete(DATA_SOURCE)


def _blank(frame: pd.DataFrame, blanked: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """``frame`` with each listed column's codes set aside as missing (the other columns are
    not copied)."""
    present = {column: codes for column, codes in blanked.items() if column in frame.columns}
    if not present:
        return frame
    return frame.assign(
        **{
            column: frame[column].where(~frame[column].isin(list(codes)))
            for column, codes in present.items()
        }
    )


def _columns_read(expectations: Sequence[Mapping[str, Any]], frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``frame`` that the expectations name; all of them when one reads the
    table (a column's existence, the column list), since that depends on every column."""
    needed: list[str] = []
    for expectation in expectations:
        kwargs = expectation.get("kwargs", {})
        named = [kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs]
        named.extend(kwargs.get("column_list", []))
        named.extend(_condition_columns(kwargs.get("row_condition")))
        if not named or expectation.get("type") == "expect_column_to_exist":
            return frame
        needed.extend(name for name in named if name in frame.columns and name not in needed)
    return pd.DataFrame(
        {column: frame[column].array for column in needed}, index=frame.index, copy=False
    )


def _condition_columns(condition: Any) -> list[str]:
    """The columns a GX row_condition (a comparison, or conditions combined) reads."""
    if hasattr(condition, "dict"):
        condition = condition.dict()
    if isinstance(condition, Mapping):
        found = []
        column = condition.get("column")
        if isinstance(column, Mapping) and "name" in column:
            found.append(str(column["name"]))
        for value in condition.values():
            if isinstance(value, Mapping | list):
                found.extend(c for c in _condition_columns(value) if c not in found)
        return found
    if isinstance(condition, list):
        return [name for part in condition for name in _condition_columns(part)]
    return []


def _run(
    context: Any,
    runs: Sequence[SuiteRun],
    *,
    data_docs_dir: Path | None,
    chunk_rows: int,
    progress: str,
) -> tuple[list[ExpectationSuiteValidationResult], Path | None]:
    datasource = context.data_sources.add_pandas(DATA_SOURCE)
    batch_definitions = {}
    registered = []
    for run in runs:
        if run.target not in batch_definitions:
            asset = datasource.add_dataframe_asset(run.target)
            batch_definitions[run.target] = asset.add_batch_definition_whole_dataframe(
                f"{run.target}_whole"
            )
        registered.append(
            context.suites.add(to_gx_suite(_without_ids(run.suite), source=run.suite["name"]))
        )
    run_id = RunIdentifier(run_time=datetime.datetime.now(datetime.UTC))
    # Built once per wave: each chunk reuses the same GX suites and batch definitions.
    parts = [
        tuple(None if part is None else (part, to_gx_suite(part)) for part in _suite_parts(run))
        for run in runs
    ]
    chunk_results: list[list[ExpectationSuiteValidationResult]] = [[] for _ in runs]
    whole_results: list[ExpectationSuiteValidationResult | None] = [None for _ in runs]

    def validate(run: SuiteRun, suite: Any, frame: pd.DataFrame) -> Any:
        batch = batch_definitions[run.target].get_batch(batch_parameters={"dataframe": frame})
        # Chunks give their counts (SUMMARY) so the wave's verdict under ``mostly`` is exact.
        return batch.validate(suite, result_format="SUMMARY")

    n_rows = max((len(run.frame) for run in runs if run.target == "wave"), default=0)
    starts = list(range(0, n_rows, chunk_rows)) or [0]
    with stage_progress(progress, len(starts)) as advance:
        for start in starts:
            for index, run in enumerate(runs):
                chunked = parts[index][0]
                if chunked is None:
                    continue
                chunk = run.frame.iloc[start : start + chunk_rows]
                frame = _blank(_columns_read(chunked[0]["expectations"], chunk), run.blanked)
                chunk_results[index].append(validate(run, chunked[1], frame))
            advance(1)
    for index, run in enumerate(runs):
        whole = parts[index][1]
        if whole is not None:
            frame = _blank(_columns_read(whole[0]["expectations"], run.frame), run.blanked)
            whole_results[index] = validate(run, whole[1], frame)
    results = []
    for index, run in enumerate(runs):
        combined = combine_results(
            registered[index], run.suite["expectations"], chunk_results[index], whole_results[index]
        )
        if run.result_format == "BOOLEAN_ONLY":
            for result in combined.results:
                result.result = {}
        combined.meta["run_id"] = run_id
        combined.meta["validation_time"] = run_id.run_time
        suite_identifier = ExpectationSuiteIdentifier(name=registered[index].name)
        context.validation_results_store.store_validation_results(
            suite_validation_result=combined,
            suite_validation_result_identifier=ValidationResultIdentifier(
                expectation_suite_identifier=suite_identifier,
                run_id=run_id,
                batch_identifier=run.target,
            ),
            expectation_suite_identifier=suite_identifier,
        )
        results.append(_in_declared_order(combined, [e.id for e in registered[index].expectations]))
    docs_path = None
    if data_docs_dir is not None:
        context.build_data_docs(site_names=[DOCS_SITE])
        docs_path = make_offline(Path(data_docs_dir), [run.suite["name"] for run in runs])
    return results, docs_path


def _suite_parts(run: SuiteRun) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The suite's expectations validated per chunk and those validated on the whole frame
    (a suite on a per-enumerator, per-item or per-arm table is small: whole)."""
    suite = run.suite
    if run.target == "wave":
        chunked, whole = split_suite(suite)
    else:
        chunked, whole = [], list(range(len(suite.get("expectations", []))))
    name = str(suite["name"])
    return (
        positioned(suite, chunked, name) if chunked else None,
        positioned(suite, whole, name) if whole else None,
    )


def _in_declared_order(
    outcome: ExpectationSuiteValidationResult, declared_ids: Sequence[str | None]
) -> ExpectationSuiteValidationResult:
    """The results in the suite's order: GX returns them grouped by column and metric, and
    every reader pairs the n-th result with the suite file's n-th expectation."""
    position = {identifier: index for index, identifier in enumerate(declared_ids)}
    found = [
        result.expectation_config.id if result.expectation_config else None
        for result in outcome.results
    ]
    if None in position or len(position) != len(declared_ids) or set(found) != set(position):
        raise RuntimeError(
            "run_suites: Great Expectations returned results that cannot be matched to the "
            f"suite's expectations ({len(found)} results, {len(declared_ids)} expectations). "
            "Check the suite with load_suites."
        )
    outcome.results = [outcome.results[found.index(identifier)] for identifier in declared_ids]
    return outcome


def _without_ids(suite: Mapping[str, Any]) -> dict[str, Any]:
    copied = {key: value for key, value in suite.items() if key != "id"}
    copied["expectations"] = [
        {key: value for key, value in expectation.items() if key not in ("id", "rendered_content")}
        for expectation in suite.get("expectations", [])
    ]
    return copied


_REMOTE_SCRIPT = re.compile(
    r"<script[^>]*\bsrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>", re.IGNORECASE
)
_REMOTE_LINK = re.compile(r"<link[^>]*\bhref=[\"']https?://[^\"']*[\"'][^>]*/?>", re.IGNORECASE)
_REMOTE_IMAGE = re.compile(r"<img[^>]*\bsrc=[\"']https?://[^\"']*[\"'][^>]*/?>", re.IGNORECASE)

# GX's pages take bootstrap, jQuery and fonts from CDNs; offline they fall back to this.
_OFFLINE_STYLE = """<style id="trustshift-offline">
body { font-family: sans-serif; margin: 1em 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; }
.collapse:not(.show) { display: block; }
.hide-succeeded-validation-target-child, .d-none { display: inherit; }
nav, .navbar, .ge-footer, .sticky-footer, #cta-footer, .cta-footer { display: none; }
</style>"""


def make_offline(directory: Path, suite_names: Sequence[str]) -> Path:
    """Strip CDN scripts, styles and images from the built docs; add a plain index of pages.

    Returns the index page. The pages stay readable without JavaScript: GX renders their
    content on the server; only the index table is drawn by script, hence the plain list.
    """
    pages = sorted(directory.rglob("*.html"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if 'id="trustshift-offline"' in text:
            continue
        text = _REMOTE_SCRIPT.sub("", text)
        text = _REMOTE_LINK.sub("", text)
        text = _REMOTE_IMAGE.sub("", text)
        text = text.replace("</head>", _OFFLINE_STYLE + "</head>", 1)
        page.write_text(text, encoding="utf-8")
    index = directory / "index.html"
    links = []
    for page in pages:
        relative = page.relative_to(directory).as_posix()
        if relative == "index.html" or "static/" in relative:
            continue
        kind = "validation" if relative.startswith("validations/") else "suite"
        suite = next((name for name in suite_names if f"/{name}" in f"/{relative}"), relative)
        links.append(f'<li>{kind}: <a href="{html.escape(relative)}">{html.escape(suite)}</a></li>')
    listing = (
        '<section id="trustshift-offline-index"><h2>Validation results and suites</h2><ul>'
        + "".join(links)
        + "</ul></section>"
    )
    text = index.read_text(encoding="utf-8")
    marker = re.search(r"<body[^>]*>", text)
    position = marker.end() if marker else 0
    index.write_text(text[:position] + listing + text[position:], encoding="utf-8")
    return index
