"""The HTML report: every section, no console error in Chromium, no cell under the minimum."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from flows.estimation import EstimationRun, read_result
from flows.report import REPORT_SECTIONS, build_report
from flows.report.effects import forest_rows, main_rows
from flows.report.suppression import SUPPRESSED, Column, display_table
from flows.study import Study, load_study
from tests.flows.estimation.conftest import THREE_WAVES_WITH_A_SMALL_CELL, ingest_and_estimate
from tests.flows.report.chromium import render
from tests.flows.report.prose import codes_in_prose, prose

REPOSITORY = Path(__file__).resolve().parents[3]
ARTIFACTS = REPOSITORY / "test-artifacts"
EXAMPLE = REPOSITORY / "data" / "studies" / "example"


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Study, EstimationRun, Path]:
    """The synthetic three-wave study (a follow-up comparison arm of six), estimated, reported."""
    root = tmp_path_factory.mktemp("reported")
    study, run = ingest_and_estimate(root / "study", THREE_WAVES_WITH_A_SMALL_CELL)
    return study, run, build_report(study, run_id=run.run_id, out_dir=root / "report")


@pytest.fixture(scope="module")
def example_report(design_reports: dict[str, Path]) -> Path:
    """The bundled example study (simulated, with field faults), ingested, estimated, reported."""
    return design_reports["example"]


class _Rows(HTMLParser):
    """Collects each table row's data-n attribute, class and cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str | None, str | None, list[str]]] = []
        self.counts: list[str] = []
        self._cell: list[str] | None = None
        self._is_count = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            found = dict(attrs)
            self.rows.append((found.get("data-n"), found.get("class"), []))
        elif tag == "td" and self.rows:
            self._cell = []
            self._is_count = dict(attrs).get("class") == "count"

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            text = "".join(self._cell).strip()
            self.rows[-1][2].append(text)
            if self._is_count:
                self.counts.append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.mark.slow
def test_the_example_studys_report_renders_every_section_in_chromium_without_console_errors(
    example_report: Path,
) -> None:
    page = render(example_report, screenshot=ARTIFACTS / "example-report.png")
    assert page.console_errors == []
    assert page.section_ids == [key for key, _ in REPORT_SECTIONS]
    assert [url for url in page.network_requests if not url.startswith("file:")] == []
    for _, title in REPORT_SECTIONS:
        assert title in page.text
    assert page.screenshot is not None and page.screenshot.stat().st_size > 10_000
    assert (example_report.parent / "estimates.csv").is_file()
    assert (example_report.parent / "estimates.parquet").is_file()


def test_the_small_cell_report_renders_in_chromium_without_console_errors(
    reported: tuple[Study, EstimationRun, Path],
) -> None:
    _, _, report = reported
    page = render(report, screenshot=ARTIFACTS / "small-cell-report.png")
    assert page.console_errors == []
    assert page.section_ids == [key for key, _ in REPORT_SECTIONS]


def test_the_chromium_check_catches_console_errors_and_failed_loads(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!DOCTYPE html><html><body><section id="a"></section><img src="absent.png">'
        '<script>console.error("planted")</script></body></html>',
        encoding="utf-8",
    )
    page = render(broken)
    assert any("planted" in error for error in page.console_errors)
    assert any("absent.png" in error for error in page.console_errors)


def test_no_cell_under_the_minimum_appears(reported: tuple[Study, EstimationRun, Path]) -> None:
    study, run, report = reported
    minimum = study.design.minimum_cell_size
    parser = _Rows()
    parser.feed(report.read_text(encoding="utf-8"))
    sized = [row for row in parser.rows if row[0] not in (None, "none")]
    assert sized, "the report has no table rows with a cell size"
    suppressed = [row for row in sized if row[0] == "suppressed"]
    shown = [row for row in sized if row[0] != "suppressed"]
    assert all(int(size) >= minimum for size, _, _ in shown if size is not None)
    # The six comparison respondents of the follow-up wave are withheld everywhere...
    assert suppressed
    for _, css, cells in suppressed:
        assert css == "suppressed"
        assert SUPPRESSED in cells
        assert not any(re.fullmatch(r"-?[\d.,]+%?|\[.*\]", cell) for cell in cells), cells
    follow_up_comparison = [
        cells for _, _, cells in parser.rows if cells[:2] == ["follow up", "comparison"]
    ]
    assert follow_up_comparison and all(SUPPRESSED in cells for cells in follow_up_comparison)
    # ...and no count of respondents between 1 and the minimum is printed as a number.
    assert parser.counts
    for cell in parser.counts:
        if cell not in (SUPPRESSED, "–", f"<{minimum}"):
            assert int(cell.replace(",", "")) == 0 or int(cell.replace(",", "")) >= minimum
    # The plots draw only publishable cells: the small group has no series in any legend.
    html_text = report.read_text(encoding="utf-8")
    assert "campaign, follow_up" in html_text
    assert "comparison, follow_up" not in html_text
    stored = read_result(study, "sample_sizes", run.run_id)
    assert (stored["n_respondents"] < minimum).any(), "the test study lost its small cell"


def test_the_report_reads_its_numbers_from_the_run_and_exports_the_estimates(
    reported: tuple[Study, EstimationRun, Path],
) -> None:
    study, run, report = reported
    stored = read_result(study, "estimates", run.run_id)
    exported = pd.read_parquet(report.parent / "estimates.parquet")
    assert len(exported) == len(stored)
    assert (report.parent / "estimates.csv").is_file()
    text = report.read_text(encoding="utf-8")
    assert run.run_id in text
    trust = stored[
        (stored["outcome"] == "trust_official")
        & (stored["wave"] == "endline")
        & (stored["n_smallest_cell"] >= study.design.minimum_cell_size)
    ]
    for value in trust["estimate"]:
        assert f"{value:.3f}" in text
    assert "<script" not in text
    assert not re.search(r"""(src|href)=["']https?:""", text)


def test_display_table_requires_the_columns_that_give_cell_sizes() -> None:
    with pytest.raises(ValueError, match="size_columns is empty"):
        display_table(
            pd.DataFrame({"n": [3]}), [Column(name="n", header="n")], size_columns=[], minimum=10
        )


def test_display_table_withholds_a_row_with_an_unknown_cell_size() -> None:
    frame = pd.DataFrame({"label": ["a", "b"], "mean": [1.5, 2.5], "n_obs": [12, None]})
    table = display_table(
        frame,
        [Column(name="label", header="x", kind="text"), Column(name="mean", header="mean")],
        size_columns=["n_obs"],
        minimum=10,
    )
    assert table.rows == [["a", "1.50"], ["b", SUPPRESSED]]
    assert table.sizes == [12, None]


def test_a_row_with_no_count_and_no_estimate_reads_not_estimable_not_suppressed() -> None:
    from flows.report.suppression import NOT_ESTIMABLE

    frame = pd.DataFrame(
        {"label": ["a", "b"], "estimate": [0.5, float("nan")], "n_obs": [40, pd.NA]}
    )
    table = display_table(
        frame,
        [Column(name="label", header="x", kind="text"),
         Column(name="estimate", header="Effect", kind="estimate")],
        size_columns=["n_obs"],
        minimum=10,
    )  # fmt: skip
    assert table.rows == [["a", "0.500"], ["b", NOT_ESTIMABLE]]
    assert table.n_suppressed == 0 and table.n_not_estimable == 1


def _first_screen(page: str) -> str:
    return page[page.index('<section id="findings">') : page.index("</section>")]


def _variable_names(study: Study) -> list[str]:
    instrument = study.resolved_instrument()
    return [
        *(item.name for item in instrument.items),
        *(construct.name for construct in instrument.constructs),
        *(f"index_{family}" for family in study.outcomes.families),
    ]


def test_the_first_screen_gives_each_primary_outcome_a_number_and_every_assumption_a_reason(
    example_report: Path,
) -> None:
    page = example_report.read_text(encoding="utf-8")
    first = _first_screen(page)
    study = load_study(example_report.parents[1] / "study.toml")
    lines = re.findall(r'<li class="primary-outcome[^"]*"[^>]*>(.*?)</li>', first, re.S)
    assert len(lines) == len(study.outcomes.primary)
    for line in lines:
        assert re.search(r"\d+\.\d+ .*95% CI -?\d", line), line
        assert re.search(r"raised it|lowered it|no clear change|no detectable change", line)
    # the risk index rose with the campaign: the line says so in its own units
    assert any("raised it by" in line and "0-100 scale" in line for line in lines)
    assert first.count('class="assumption"') == 5
    reasons = re.findall(r'<p class="reason">(.*?)</p>', first, re.S)
    assert len(reasons) == 5 and all(len(reason) > 40 for reason in reasons)
    assert "Communities were randomly assigned" in first


def test_no_prose_of_the_report_holds_a_variable_name_or_an_estimator_code(
    example_report: Path,
) -> None:
    page = example_report.read_text(encoding="utf-8")
    study = load_study(example_report.parents[1] / "study.toml")
    assert codes_in_prose(page, _variable_names(study)) == []
    # the check is not vacuous: the exported numbers still carry the codes
    assert "irregular_intention" in (example_report.parent / "estimates.csv").read_text()


def test_the_prose_check_finds_a_planted_variable_name_and_code() -> None:
    page = "<p>The effect on index_risk (ancova) rose.</p><code>ancova</code>"
    assert codes_in_prose(page, ["index_risk"]) == ["ancova", "index_risk"]
    assert codes_in_prose("<code>index_risk</code>", ["index_risk"]) == []


def test_long_tables_are_folded_and_the_main_effects_table_has_few_columns(
    example_report: Path,
) -> None:
    page = example_report.read_text(encoding="utf-8")
    effects = page[page.index('<section id="effects">') : page.index('<section id="design">')]
    first_table = effects[effects.index("<table") : effects.index("</table>")]
    assert first_table.count("<th ") <= 9
    # every table outside the first screen and the first effects group sits in a <details>
    parts = page.split("<details")
    assert len(parts) > 15
    assert page.index("<table") > page.index('<section id="trust-shift">')


def test_a_not_estimable_row_never_reads_suppressed() -> None:
    table = display_table(
        pd.DataFrame({"label": ["none"], "estimate": [None], "p_value": [None], "n": [None]}),
        [
            Column(name="label", header="Outcome", kind="text"),
            Column(name="estimate", header="Effect", kind="estimate"),
            Column(name="p_value", header="p", kind="p_value"),
            Column(name="n", header="n", kind="count"),
        ],
        size_columns=["n"],
        minimum=10,
    )
    assert table.rows == [["none", "not estimable", "not estimable", "not estimable"]]
    assert table.n_suppressed == 0 and table.n_not_estimable == 1


def test_data_quality_counts_under_the_minimum_read_less_than_the_minimum_not_suppressed(
    reported: tuple[Study, EstimationRun, Path],
) -> None:
    frame = pd.DataFrame(
        {"wave": ["baseline"], "check_name": ["speeders"], "severity": ["row"], "n_rows": [3]}
    )
    columns = [
        Column(name="wave", header="Wave", kind="text"),
        Column(name="check_name", header="Check", kind="text"),
        Column(name="severity", header="Severity", kind="text"),
        Column(name="n_rows", header="Interviews", kind="count"),
    ]
    table = display_table(frame, columns, size_columns=["n_rows"], minimum=10, counts_only=True)
    assert table.rows == [["baseline", "speeders", "row", "<10"]]
    assert table.n_suppressed == 0 and table.sizes == [None]
    withheld = display_table(frame, columns, size_columns=["n_rows"], minimum=10, label_columns=3)
    assert withheld.rows[0][3] == SUPPRESSED


@pytest.mark.parametrize("design", ["example", "individually_randomised", "own_instrument"])
def test_each_designs_report_words_its_design_and_data(
    design_reports: dict[str, Path], design: str
) -> None:
    report = design_reports[design]
    page = report.read_text(encoding="utf-8")
    study = load_study(report.parents[1] / "study.toml")
    assert codes_in_prose(page, _variable_names(study)) == []
    first = _first_screen(page)
    lines = re.findall(r'<li class="primary-outcome([^"]*)"[^>]*>(.*?)</li>', first, re.S)
    assert len(lines) == len(study.outcomes.primary)
    assert all("95% CI" in text for css, text in lines if "no-estimate" not in css)
    text = prose(page)
    if design == "individually_randomised":
        assert "Respondents were randomly assigned" in first
        assert "communit" not in text.lower()
    if design != "example":
        # an instrument without migration items: no migration wording, no empty section
        assert "migrat" not in text.lower()
        assert 'class="empty"' not in page
    parser = _Rows()
    parser.feed(page)
    for size, css, cells in parser.rows:
        if size == "not-estimable" or css == "not-estimable":
            assert SUPPRESSED not in cells, cells


def test_the_forest_and_scorecard_rows_are_the_plans_estimator_not_the_first_rows() -> None:
    effects = pd.DataFrame(
        {
            "outcome": ["heard", "trust", "trust", "trust"],
            "estimator": ["post_only_difference", "ordered_logit", "ancova", "ancova"],
            "wave": ["endline", "endline", "endline", "follow_up"],
            "is_main_estimator": [True, False, True, True],
            "n_smallest_cell": [50, 50, 50, 50],
            "estimate": [0.1, 0.3, 0.2, 0.05],
            "standardized_effect": [0.2, None, 0.4, 0.1],
            "conf_low_standardized": [0.0, None, 0.1, -0.2],
            "conf_high_standardized": [0.4, None, 0.7, 0.4],
            "family_label": ["exposure", "trust", "trust", "trust"],
        }
    )
    main = main_rows(effects, 10, "endline", ["baseline", "endline", "follow_up"])
    assert list(main["estimator"]) == ["post_only_difference", "ancova"]
    # without a primary wave, the latest wave of the study's order
    assert list(main_rows(effects, 10, None, ["baseline", "endline", "follow_up"])["wave"]) == [
        "follow_up"
    ]
    drawn = forest_rows(main)
    assert list(drawn["standardized_low"]) == [0.0, 0.1]
    assert list(drawn["standardized_high"]) == [0.4, 0.7]
