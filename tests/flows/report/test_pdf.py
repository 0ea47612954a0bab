"""The PDF beside the report: Chromium's print with the print stylesheet, plots kept whole."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.errors import ReportError
from flows.estimation import latest_run_id
from flows.report import build_report
from flows.report.pdf import SKIP_VARIABLE, pdf_skip_reason, skip_pdf, write_pdf
from flows.study import load_study
from tests.flows.report.conftest import ARTIFACTS, REPOSITORY


def _page_texts(pdf: Path) -> list[str]:
    """The text of each page (poppler's pdftotext), whitespace removed."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    )
    return [re.sub(r"\s+", "", page) for page in done.stdout.split("\f")]


@pytest.fixture(scope="module")
def printed(design_reports: dict[str, Path]) -> Iterator[Path]:
    """The example's report built again with the PDF on (as a user's run does), its pages
    rendered to PNG beside it in test-artifacts/pdf."""
    if shutil.which("pdftoppm") is None:
        raise RuntimeError(
            "test_pdf: pdftoppm is missing; install poppler-utils (`apt-get install -y "
            "poppler-utils`; make browser does it)"
        )
    study = load_study(design_reports["example"].parents[1] / "study.toml")
    folder = ARTIFACTS / "pdf"
    shutil.rmtree(folder, ignore_errors=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(SKIP_VARIABLE, raising=False)
        html = build_report(study, run_id=latest_run_id(study), out_dir=folder)
    pdf = html.with_suffix(".pdf")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(folder / "page")], check=True)
    print(f"\nPDF and its page images: {folder}")
    yield pdf


def test_the_pdf_opens_and_every_page_renders(printed: Path) -> None:
    assert printed.read_bytes()[:5] == b"%PDF-"
    pages = sorted((printed.parent).glob("page-*.png"))
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, check=True, text=True)
    n_pages = int(re.search(r"Pages:\s+(\d+)", info.stdout)[1])  # type: ignore[index]
    assert n_pages > 3 and len(pages) == n_pages


def test_no_plot_is_cut_across_two_pages(printed: Path) -> None:
    html = printed.with_suffix(".html").read_text(encoding="utf-8")
    pages = _page_texts(printed)
    plots = re.findall(r"<svg .*?</svg>", html, flags=re.DOTALL)
    assert len(plots) >= 4
    for plot in plots:
        texts = {
            re.sub(r"\s+", "", text) for text in re.findall(r"<text[^>]*>([^<]{4,})</text>", plot)
        }
        texts = {text.replace("&quot;", '"').replace("&amp;", "&") for text in texts}
        assert texts
        # Every label of the plot is printed on one page: a cut plot spreads them over two.
        assert any(all(text in page for text in texts) for page in pages), sorted(texts)[:5]


def test_folded_details_are_printed_open() -> None:
    from flows.report.pdf import _opened

    page = '<details><summary>a</summary>b</details><details open class="x">c</details>'
    assert _opened(page).count("<details open") == 2


def test_a_missing_chromium_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = tmp_path / "report.html"
    html.write_text("<html></html>", encoding="utf-8")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TRUSTSHIFT_CHROMIUM", raising=False)
    with pytest.raises(ReportError, match=r"write_pdf: no browser.*apt-get install chromium"):
        write_pdf(html)


def test_the_pdf_is_skipped_only_when_asked_and_a_stale_one_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SKIP_VARIABLE, raising=False)
    assert pdf_skip_reason(True) is None
    assert pdf_skip_reason(False) == "the study file sets [report] pdf = false"
    monkeypatch.setenv(SKIP_VARIABLE, "0")
    assert pdf_skip_reason(True) == f"{SKIP_VARIABLE}=0 is set"
    (tmp_path / "report.pdf").write_bytes(b"%PDF-old")
    skip_pdf(tmp_path / "report.html", "asked")
    assert not (tmp_path / "report.pdf").exists()


def test_the_study_file_turns_the_pdf_off_and_the_skip_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    text = (REPOSITORY / "data" / "studies" / "example" / "study.toml").read_text("utf-8")
    (tmp_path / "study.toml").write_text(text + "\n[report]\npdf = false\n", encoding="utf-8")
    study = load_study(tmp_path / "study.toml")
    assert study.report.pdf is False
    monkeypatch.delenv(SKIP_VARIABLE, raising=False)
    reason = pdf_skip_reason(study.report.pdf)
    assert reason is not None
    with caplog.at_level("INFO", logger="flows.report.pdf"):
        skip_pdf(tmp_path / "report.html", reason)
    assert "no PDF beside report.html; the study file sets [report] pdf = false" in caplog.text
