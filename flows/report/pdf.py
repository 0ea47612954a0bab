"""Print the HTML report to PDF with headless Chromium (its print stylesheet sets the pages)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from flows.errors import ReportError

logger = logging.getLogger(__name__)

# Debian and Ubuntu name the binary chromium; other systems chromium-browser or google-chrome.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PRINT_SECONDS = 180
INSTALL_HINT = (
    "Install Chromium (Debian/Ubuntu: `apt-get install chromium`; elsewhere Chromium or "
    "Google Chrome on PATH, or name the binary in the TRUSTSHIFT_CHROMIUM environment "
    "variable), or set `pdf = false` under [report] in the study file to write the HTML only"
)


def chromium_binary() -> str | None:
    """The browser that prints the PDF: ``TRUSTSHIFT_CHROMIUM`` if set, else the first on PATH."""
    named = os.environ.get("TRUSTSHIFT_CHROMIUM")
    if named:
        return shutil.which(named)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _opened(page: str) -> str:
    """The page with every <details> open, so the printed copy holds the folded content."""
    return re.sub(r"<details(?![^>]*\bopen\b)(\s|>)", r"<details open\1", page)


def write_pdf(html: Path, pdf: Path | None = None) -> Path:
    """Print ``html`` to ``pdf`` (default: beside it, ``.pdf``) and return the PDF's path.

    Raises ``ReportError`` when no Chromium is found, when it fails or times out, or when
    what it wrote is not a PDF.
    """
    target = pdf if pdf is not None else html.with_suffix(".pdf")
    browser = chromium_binary()
    if browser is None:
        named = os.environ.get("TRUSTSHIFT_CHROMIUM")
        looked = f"TRUSTSHIFT_CHROMIUM={named!r}" if named else ", ".join(BROWSERS)
        raise ReportError(
            f"write_pdf: no browser to print {target.name}; looked for {looked} on PATH. "
            f"The HTML report is at {html}. {INSTALL_HINT}."
        )
    with tempfile.TemporaryDirectory(
        prefix="trustshift-pdf-", ignore_cleanup_errors=True
    ) as scratch_name:
        scratch = Path(scratch_name)
        opened = scratch / "report.html"
        opened.write_text(_opened(html.read_text(encoding="utf-8")), encoding="utf-8")
        printed = scratch / "report.pdf"
        command = [
            browser,
            "--headless",
            # Chromium refuses to start its sandbox as root; the page is our own file, with
            # no script and no network access (its content security policy forbids both).
            *(["--no-sandbox"] if os.geteuid() == 0 else []),
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={scratch / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={printed}",
            opened.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=PRINT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError(
                f"write_pdf: {browser} did not finish printing {target.name} within "
                f"{PRINT_SECONDS} s. The HTML report is at {html}; print it from a browser, "
                "or set `pdf = false` under [report] in the study file."
            ) from None
        if done.returncode != 0 or not printed.is_file():
            last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise ReportError(
                f"write_pdf: {browser} failed to print {target.name} (exit code "
                f"{done.returncode}; {last[0] if last else 'no message'}). The HTML report is "
                f"at {html}. {INSTALL_HINT}."
            )
        with printed.open("rb") as handle:
            if handle.read(5) != b"%PDF-":
                raise ReportError(
                    f"write_pdf: {browser} wrote {target.name} but it is not a PDF. The HTML "
                    f"report is at {html}. Update Chromium, or set `pdf = false` under "
                    "[report] in the study file."
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(printed, target)
    return target


# Set to 0 to write the HTML only, whatever the study file says (test suites, quick drafts).
SKIP_VARIABLE = "TRUSTSHIFT_REPORT_PDF"


def pdf_skip_reason(wanted: bool) -> str | None:
    """Why no PDF is written (``wanted``: the study file's ``[report] pdf``), or None."""
    if not wanted:
        return "the study file sets [report] pdf = false"
    if os.environ.get(SKIP_VARIABLE, "1").strip() == "0":
        return f"{SKIP_VARIABLE}=0 is set"
    return None


def skip_pdf(html: Path, reason: str) -> None:
    """Log why no PDF is written beside ``html``; remove a PDF of an earlier build there."""
    html.with_suffix(".pdf").unlink(missing_ok=True)
    logger.info("report: no PDF beside %s; %s", html.name, reason)
