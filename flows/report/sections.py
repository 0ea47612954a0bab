"""The sections of the report, in the order they appear, with their titles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.report.suppression import DisplayTable

REPORT_SECTIONS: tuple[tuple[str, str], ...] = (
    ("findings", "Findings"),
    ("forest", "Effects by family, in standard deviations"),
    ("trust-shift", "Trust in each source"),
    ("intention-cascade", "The intention cascade"),
    ("risk-beliefs", "Risk beliefs against the true values"),
    ("scorecard", "The assumptions, outcome by outcome"),
    ("effects", "Effects of the campaign: tables"),
    ("design", "Design and sample"),
    ("data-quality", "Data quality"),
    ("attrition", "Attrition"),
    ("balance", "Baseline balance"),
    ("reliability", "Reliability of the constructs"),
    ("change", "Change within each arm"),
    ("caveats", "Caveats"),
    ("glossary", "Glossary"),
    ("methods", "Methods appendix"),
)
"""The first screen (findings), the evidence (plots), then the details, each folded."""


def absent_sections(
    tables: Mapping[str, DisplayTable],
    *,
    has_effects: bool,
    sampling: str,
    has_assumptions: bool = True,
) -> frozenset[str]:
    """The sections a run has nothing for: left out, never shown empty (a repeated
    cross-section has no attrition, a study without trust items no trust section, a
    pre/post study no effects)."""
    empty = {
        "trust-shift": tables["trust"].empty,
        "intention-cascade": tables["cascade"].empty,
        "risk-beliefs": tables["beliefs"].empty,
        "attrition": sampling != "panel" or tables["attrition"].empty,
        "balance": tables["balance"].empty,
        "reliability": tables["reliability"].empty,
        "change": tables["change"].empty,
        "effects": not has_effects,
        "forest": not has_effects,
        "scorecard": not has_assumptions,
    }
    return frozenset(key for key, missing in empty.items() if missing)


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One section of the report: id, title, and what the template shows in it."""

    id: str
    title: str


def report_sections(left_out: frozenset[str] = frozenset()) -> list[Section]:
    """The sections of the report, in order, without those ``left_out`` (a section whose
    constructs the study does not have is left out, not shown empty)."""
    return [Section(id=key, title=title) for key, title in REPORT_SECTIONS if key not in left_out]
