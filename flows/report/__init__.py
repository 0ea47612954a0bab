"""The study report: one self-contained HTML file per estimation run, read from the warehouse.

Every number comes from the result tables of the run (:mod:`flows.estimation`); plots are
inline SVG; there is no JavaScript. The minimum cell rule of the study is applied to every
table and plot (:mod:`flows.report.suppression`).

Where each part lives: :mod:`~flows.report.results` reads the run's tables,
:mod:`~flows.report.tables` and :mod:`~flows.report.effects` make the display tables,
:mod:`~flows.report.figures` and :mod:`~flows.report.plots` the figures,
:mod:`~flows.report.scorecard` the five assumptions, :mod:`~flows.report.caveats` the caveats,
:mod:`~flows.report.methods` the methods appendix, :mod:`~flows.report.sections` the outline and
:mod:`~flows.report.build` puts them through the template.
"""

from __future__ import annotations

from flows.report.build import build_report, report_command
from flows.report.effects import numbered_warnings as _numbered_warnings
from flows.report.sections import REPORT_SECTIONS

# _numbered_warnings keeps the name tests/flows/report/test_notes.py imports.
__all__ = ["REPORT_SECTIONS", "_numbered_warnings", "build_report", "report_command"]
