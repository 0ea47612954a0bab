"""The sections of the report, in the order they appear, with their titles."""

from __future__ import annotations

from dataclasses import dataclass

REPORT_SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("design", "Design and sample"),
    ("data-quality", "Data quality"),
    ("attrition", "Attrition"),
    ("balance", "Baseline balance"),
    ("reliability", "Reliability of the constructs"),
    ("effects", "Effects of the campaign"),
    ("forest", "Standardized effects by family"),
    ("change", "Change within each arm"),
    ("trust-shift", "Trust in each source"),
    ("intention-cascade", "The intention cascade"),
    ("risk-beliefs", "Risk beliefs against the true values"),
    ("scorecard", "The five assumptions"),
    ("caveats", "Caveats"),
    ("methods", "Methods appendix"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One section of the report: id, title, and what the template shows in it."""

    id: str
    title: str


def report_sections(left_out: frozenset[str] = frozenset()) -> list[Section]:
    """The sections of the report, in order, without those ``left_out`` (a section whose
    constructs the study does not have is left out, not shown empty)."""
    return [Section(id=key, title=title) for key, title in REPORT_SECTIONS if key not in left_out]
