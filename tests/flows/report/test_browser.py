"""The reports of three designs in Chromium at 1280 and 390 px: nothing wider than the page,
no empty section, no migration wording outside a migration study. Screenshots are kept in
test-artifacts/ (gitignored)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.flows.report import layout
from tests.flows.report.chromium import ChromiumSession
from tests.flows.report.conftest import ARTIFACTS, DESIGNS

WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def browser() -> Iterator[ChromiumSession]:
    with ChromiumSession() as session:
        yield session


@pytest.fixture(scope="module")
def seen(browser: ChromiumSession, design_reports: dict[str, Path]) -> dict[tuple[str, int], Any]:
    """What the browser measured on each design's report at each width, details folded and
    then opened; a full-page screenshot of each."""
    measured: dict[tuple[str, int], Any] = {}
    for name, report in design_reports.items():
        for width in WIDTHS:
            browser.open(report, width=width)
            folded = browser.evaluate(layout.OVERFLOWING)
            sections = browser.evaluate(layout.SECTION_TEXTS)
            shot = browser.screenshot(ARTIFACTS / "browser" / f"{name}-{width}.png")
            browser.evaluate(layout.OPEN_DETAILS)
            measured[name, width] = {
                "folded": folded,
                "opened": browser.evaluate(layout.OVERFLOWING),
                "sections": sections,
                "screenshot": shot,
            }
    print(f"\nbrowser screenshots: {ARTIFACTS / 'browser'}")
    return measured


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(DESIGNS))
def test_no_element_of_the_report_is_wider_than_the_window(
    seen: dict[tuple[str, int], Any], name: str, width: int
) -> None:
    for state in ("folded", "opened"):
        found = seen[name, width][state]
        assert found["inner_width"] == width, (state, found)
        assert found["scroll_width"] <= found["width"], (state, found)
        assert found["n_overflowing"] == 0, (state, found["overflowing"])
    assert seen[name, width]["screenshot"].stat().st_size > 10_000


@pytest.mark.parametrize("name", list(DESIGNS))
def test_every_section_of_each_design_has_content_beyond_its_heading(
    seen: dict[tuple[str, int], Any], name: str
) -> None:
    for section_id, n_characters, n_heading, text in seen[name, 1280]["sections"]:
        assert n_characters > n_heading + 40, (section_id, text[:300])
        assert "no rows in this run" not in text, (section_id, text[:300])


@pytest.mark.parametrize("name", [name for name in DESIGNS if name != "example"])
def test_a_study_without_migration_items_reads_no_migration_wording(
    design_reports: dict[str, Path], name: str
) -> None:
    text = design_reports[name].read_text(encoding="utf-8")
    assert not re.search(r"migra|smuggl|irregular journey", text, flags=re.IGNORECASE)


def test_the_individually_randomised_study_is_not_described_as_clustered(
    design_reports: dict[str, Path],
) -> None:
    text = design_reports["individually_randomised"].read_text(encoding="utf-8")
    assert "randomised across" not in text and "campaign cluster" not in text
