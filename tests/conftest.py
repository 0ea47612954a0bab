"""Test-wide settings: reports are written as HTML only unless a test asks for the PDF.

Printing a PDF costs Chromium several seconds per report and dozens of tests build reports;
the PDF tests (tests/flows/report/test_pdf.py) unset the variable for themselves. Set in
the environment so that commands run in subprocesses see it too.
"""

from __future__ import annotations

import os

os.environ["TRUSTSHIFT_REPORT_PDF"] = "0"
