"""Run suites with Great Expectations 1.x and build Data Docs that open without a network."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
)
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.execution_engine import pandas_execution_engine

from flows.validation.suites import to_gx_suite

DOCS_SITE = "trustshift"


@dataclass(frozen=True, slots=True, kw_only=True)
class SuiteRun:
    """One suite to run on one frame, with how much detail GX should return."""

    suite: Mapping[str, Any]
    target: str
    frame: pd.DataFrame
    result_format: str


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
    runs: Sequence[SuiteRun], *, data_docs_dir: Path | None
) -> tuple[list[ExpectationSuiteValidationResult], Path | None]:
    """Validate each suite once on its frame; build offline Data Docs when a folder is given."""
    context = _fresh_context(data_docs_dir)
    # GX fingerprints every in-memory frame under 1 GB (pd.util.hash_pandas_object, about
    # 1 s per suite on 1,000,000 rows); the fingerprint is only a batch marker, so skip it.
    threshold = pandas_execution_engine.HASH_THRESHOLD
    pandas_execution_engine.HASH_THRESHOLD = 0
    try:
        return _run(context, runs, data_docs_dir=data_docs_dir)
    finally:
        pandas_execution_engine.HASH_THRESHOLD = threshold


def _run(
    context: Any, runs: Sequence[SuiteRun], *, data_docs_dir: Path | None
) -> tuple[list[ExpectationSuiteValidationResult], Path | None]:
    datasource = context.data_sources.add_pandas("trustshift")
    batch_definitions = {}
    results = []
    for run in runs:
        if run.target not in batch_definitions:
            asset = datasource.add_dataframe_asset(run.target)
            batch_definitions[run.target] = asset.add_batch_definition_whole_dataframe(
                f"{run.target}_whole"
            )
        suite = context.suites.add(to_gx_suite(_without_ids(run.suite), source=run.suite["name"]))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=run.suite["name"], data=batch_definitions[run.target], suite=suite
            )
        )
        outcome = definition.run(
            batch_parameters={"dataframe": run.frame}, result_format=run.result_format
        )
        results.append(_in_declared_order(outcome, [e.id for e in suite.expectations]))
    docs_path = None
    if data_docs_dir is not None:
        context.build_data_docs(site_names=[DOCS_SITE])
        docs_path = make_offline(Path(data_docs_dir), [run.suite["name"] for run in runs])
    return results, docs_path


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
