"""Run a synthesis: harmonize, pool, score the assumptions, map the evidence, write the report."""

from __future__ import annotations

import html
import math
import platform
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from flows.synthesis.file import Synthesis, synthesis_assumptions, vocabulary_labels
from flows.synthesis.harmonize import harmonize
from flows.synthesis.plots import forest_plot, funnel_plot
from flows.synthesis.pooling import PooledOutcomes, pool_outcomes
from flows.synthesis.verdicts import RULE_TEXT, evidence_map, score_pooled, verdict_table

TEMPLATES = Path(__file__).resolve().parent / "templates"
TABLES = ("harmonized", "pooled", "moderators", "small_study", "funnel", "verdicts", "evidence_map")


@dataclass(slots=True)
class SynthesisResult:
    """Every table of one synthesis run and what it noted on the way."""

    synthesis: Synthesis
    harmonized: pd.DataFrame
    pooled: pd.DataFrame
    moderators: pd.DataFrame
    small_study: pd.DataFrame
    funnel: pd.DataFrame
    cards: list[dict[str, object]]
    evidence_map: pd.DataFrame
    assumptions_source: str
    notes: list[str] = field(default_factory=list)
    caveats: list[tuple[str, str]] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables the run writes, by name."""
        return {
            "harmonized": self.harmonized,
            "pooled": self.pooled,
            "moderators": self.moderators,
            "small_study": self.small_study,
            "funnel": self.funnel,
            "verdicts": verdict_table(self.cards),
            "evidence_map": self.evidence_map,
        }


def run_synthesis(synthesis: Synthesis) -> SynthesisResult:
    """Harmonize every study's estimates, pool each outcome, score each assumption."""
    labels = vocabulary_labels(synthesis.vocabulary)
    harmonized, notes = harmonize(synthesis, set(labels))
    outcomes = {
        entry.name: (entry.label or labels.get(entry.name, entry.name), entry.sesoi)
        for entry in synthesis.outcomes
    }

    def pool(
        rows: pd.DataFrame, chosen: dict[str, tuple[str, float | None]], *, full: bool
    ) -> PooledOutcomes:
        return pool_outcomes(
            rows,
            outcomes=chosen,
            moderators=synthesis.moderators if full else [],
            method=synthesis.method,
            test=synthesis.test,
            confidence=synthesis.confidence,
            diagnostics=full,
        )

    pooled = pool(harmonized, outcomes, full=True)
    missing = [name for name in outcomes if name not in set(pooled.pooled["outcome"])]
    if missing:
        notes.append(f"No study estimated {', '.join(missing)}; nothing pooled for them.")
    assumptions, source = synthesis_assumptions(synthesis)
    cards = score_pooled(assumptions, pooled.pooled, harmonized)
    studies = pd.DataFrame(
        [
            {"study": entry.id, "region": entry.region, "campaign_type": entry.campaign_type}
            for entry in synthesis.studies
        ]
    )
    bearing = {
        bearing.outcome
        for assumption in assumptions
        for bearing in (
            *([assumption.headline] if assumption.headline else []),
            *assumption.premise,
        )
    }
    cell_outcomes = {name: value for name, value in outcomes.items() if name in bearing}

    def pool_cell(rows: pd.DataFrame) -> pd.DataFrame:
        # A cell's few studies raise the few-studies caveat by design; the map says how many.
        return pool(rows, cell_outcomes, full=False).pooled

    mapped = evidence_map(assumptions, harmonized, studies, pool_cell)
    return SynthesisResult(
        synthesis=synthesis,
        harmonized=harmonized,
        pooled=pooled.pooled,
        moderators=pooled.moderators,
        small_study=pooled.bias,
        funnel=pooled.funnel,
        cards=cards,
        evidence_map=mapped,
        assumptions_source=source,
        notes=notes,
        caveats=pooled.caveats,
    )


def _text(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def display(frame: pd.DataFrame, columns: dict[str, str]) -> dict[str, object]:
    """Headers and formatted rows of a table for the template."""
    rows = [[_text(row[name]) for name in columns] for _, row in frame.iterrows()]
    return {"headers": list(columns.values()), "rows": rows, "empty": frame.empty}


def _map_display(mapped: pd.DataFrame) -> dict[str, object]:
    """One row per region and campaign type, one column per assumption."""
    if mapped.empty:
        return {"headers": [], "rows": [], "empty": True}

    def cell(row: pd.Series) -> str:
        studies = int(row["n_studies"])
        if studies == 0:
            return str(row["verdict"])
        noun = "study" if studies == 1 else "studies"
        return f"{row['verdict']} ({studies} {noun}, {int(row['n_respondents'])} respondents)"

    cells = mapped.assign(
        cell=mapped.apply(cell, axis=1),
        assumption_column=mapped["number"].astype(str) + ". " + mapped["assumption"],
    )
    table = cells.pivot(
        index=["region", "campaign_type"], columns="assumption_column", values="cell"
    )
    return {
        "headers": ["region", "campaign type", *table.columns.tolist()],
        "rows": [
            [region, kind, *values]
            for (region, kind), values in zip(table.index, table.values.tolist(), strict=True)
        ],
        "empty": False,
    }


def _versions() -> list[tuple[str, str]]:
    found = [("python", platform.python_version())]
    for package in ("trustshift", "numpy", "scipy", "pandas", "statsmodels", "matplotlib"):
        try:
            found.append((package, version(package)))
        except PackageNotFoundError:
            found.append((package, "not installed"))
    return found


def _figures(result: SynthesisResult) -> list[dict[str, str]]:
    figures = []
    z = 1.959963984540054
    for _, pooled in result.pooled.iterrows():
        name = str(pooled["outcome"])
        rows = result.harmonized[result.harmonized["outcome"] == name]
        studies = pd.DataFrame(
            {
                "label": rows["study"] + " (" + rows["wave"] + ")",
                "estimate": rows["estimate"],
                "conf_low": rows["estimate"] - z * rows["std_error"],
                "conf_high": rows["estimate"] + z * rows["std_error"],
            }
        )
        forest = forest_plot(studies, pooled, title=f"Forest plot: {pooled['label']}")
        points = result.funnel[result.funnel["outcome"] == name]
        funnel = (
            funnel_plot(points, title=f"Funnel plot: {pooled['label']}") if len(points) >= 3 else ""
        )
        figures.append(
            {"outcome": name, "label": str(pooled["label"]), "forest": forest, "funnel": funnel}
        )
    return figures


def render_report(result: SynthesisResult, *, checksums: dict[str, str]) -> str:
    """The self-contained HTML report of a synthesis (no JavaScript, no network loads)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    synthesis = result.synthesis
    studies = pd.DataFrame(
        [
            {
                "study": entry.id,
                "title": entry.title,
                "region": entry.region,
                "country": entry.country,
                "campaign_type": entry.campaign_type,
                "messenger": entry.messenger,
                "channel": entry.channel,
                "months": entry.months_since_campaign,
                "source": "exported estimates" if entry.estimates is not None else "study file",
            }
            for entry in synthesis.studies
        ]
    )
    return environment.get_template("synthesis.html.j2").render(
        synthesis=synthesis,
        cards=result.cards,
        rule_text=RULE_TEXT,
        assumptions_source=result.assumptions_source,
        evidence_map=_map_display(result.evidence_map),
        pooled=display(
            result.pooled,
            {
                "label": "outcome",
                "model": "model",
                "n_studies": "studies",
                "n_estimates": "estimates",
                "n_respondents": "respondents",
                "estimate": "pooled (SD)",
                "conf_low": "CI low",
                "conf_high": "CI high",
                "p_value": "p",
                "prediction_low": "PI low",
                "prediction_high": "PI high",
                "tau2": "tau²",
                "i_squared": "I² (%)",
                "q_p_value": "Q test p",
                "fixed_estimate": "fixed effect",
                "sesoi": "SESOI",
                "conclusion": "conclusion",
            },
        ),
        moderators=display(
            result.moderators,
            {
                "outcome": "outcome",
                "moderator": "moderator",
                "term": "term",
                "estimate": "coefficient",
                "conf_low": "CI low",
                "conf_high": "CI high",
                "p_value": "p",
                "tau2": "residual tau²",
                "n_studies": "studies",
            },
        ),
        small_study=display(
            result.small_study,
            {
                "outcome": "outcome",
                "statistic": "t",
                "df": "df",
                "p_value": "p",
                "limit_estimate": "limit estimate",
                "n_studies": "studies",
            },
        ),
        studies=display(
            studies,
            {
                "study": "study",
                "title": "title",
                "region": "region",
                "country": "country",
                "campaign_type": "campaign type",
                "messenger": "messenger",
                "channel": "channel",
                "months": "months since campaign",
                "source": "source",
            },
        ),
        harmonized=display(
            result.harmonized,
            {
                "study": "study",
                "study_outcome": "study's outcome",
                "outcome": "shared outcome",
                "wave": "wave",
                "estimator": "estimator",
                "estimate": "effect (SD)",
                "std_error": "SE (SD)",
                "std_error_source": "SE from",
                "n_obs": "n",
            },
        ),
        figures=_figures(result),
        notes=result.notes,
        caveats=result.caveats,
        versions=_versions(),
        checksums=checksums,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        escape=html.escape,
    )


def write_synthesis(result: SynthesisResult, out_dir: Path, *, checksums: dict[str, str]) -> Path:
    """Write ``report.html`` and every table as CSV and Parquet; return the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in result.tables().items():
        table.to_csv(out_dir / f"{name}.csv", index=False)
        table.to_parquet(out_dir / f"{name}.parquet", index=False)
    path = out_dir / "report.html"
    path.write_text(render_report(result, checksums=checksums), encoding="utf-8")
    return path
