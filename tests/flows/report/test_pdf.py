"""The PDF beside the report: Chromium's print with the print stylesheet, plots kept whole."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from flows.errors import ReportError
from flows.report.pdf import SKIP_VARIABLE, pdf_skip_reason, skip_pdf, write_pdf
from tests.flows.report.conftest import ARTIFACTS


def _page_texts(pdf: Path) -> list[str]:
    """The text of each page (poppler's pdftotext), whitespace removed."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True
    )
    return [re.sub(r"\s+", "", page) for page in done.stdout.split("\f")]


@pytest.fixture(scope="module")
def printed(design_reports: dict[str, Path]) -> Path:
    """The example report printed to PDF, its pages rendered to PNG in test-artifacts/pdf."""
    if shutil.which("pdftoppm") is None:
        raise RuntimeError(
            "test_pdf: pdftoppm is missing; install poppler-utils (`apt-get install -y "
            "poppler-utils`; make browser does it)"
        )
    pdf = write_pdf(design_reports["example"], ARTIFACTS / "pdf" / "example-report.pdf")
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(pdf), str(ARTIFACTS / "pdf" / "page")], check=True
    )
    print(f"\nPDF and its page images: {ARTIFACTS / 'pdf'}")
    return pdf


def test_the_pdf_opens_and_every_page_renders(printed: Path) -> None:
    assert printed.read_bytes()[:5] == b"%PDF-"
    pages = sorted((printed.parent).glob("page-*.png"))
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, check=True, text=True)
    n_pages = int(re.search(r"Pages:\s+(\d+)", info.stdout)[1])  # type: ignore[index]
    assert n_pages > 3 and len(pages) == n_pages


def test_no_plot_is_cut_across_two_pages(printed: Path, design_reports: dict[str, Path]) -> None:
    html = design_reports["example"].read_text(encoding="utf-8")
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
