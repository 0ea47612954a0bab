"""Build the report of one estimation run: read its results, render the template, write the file."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from flows.assumptions import AssumptionDeclaration, study_assumptions
from flows.estimation import export_estimates, latest_run_id, run_record
from flows.faults import fault_point
from flows.locations import check_run_id
from flows.locking import study_lock
from flows.plan import plan_deviations, read_plan
from flows.report.caveats import report_caveats
from flows.report.effects import effects_frame, forest_rows, main_rows
from flows.report.figures import report_figures
from flows.report.findings import design_sentence, primary_findings
from flows.report.glossary import glossary
from flows.report.labels import (
    in_words,
    instrument_labels,
    outcome_labels,
    outcome_questions,
    wave_words,
)
from flows.report.methods import estimator_methods
from flows.report.pdf import pdf_skip_reason, skip_pdf, write_pdf
from flows.report.results import read_run_results
from flows.report.scorecard import RULE_TEXT, not_declared_card, score_assumptions
from flows.report.sections import absent_sections, report_sections
from flows.report.suppression import passes
from flows.report.tables import effect_groups, section_tables
from flows.study import Study, load_study

TEMPLATES = Path(__file__).resolve().parent / "templates"


def template_environment() -> Environment:
    """The jinja2 environment of the report's templates: HTML autoescaped, undefined names fail."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_report(study: Study, *, run_id: str | None = None, out_dir: Path | None = None) -> Path:
    """Write ``report.html``, ``report.pdf`` (unless the study file's ``[report] pdf`` is
    false) and the estimates as CSV and Parquet for one estimation run.

    ``run_id`` defaults to the latest finished run; ``out_dir`` to ``reports/<run_id>`` beside
    the study file. Returns the report's path.
    """
    with study_lock(study, purpose="report"):
        return _build_report(study, run_id=run_id, out_dir=out_dir)


def _build_report(study: Study, *, run_id: str | None, out_dir: Path | None) -> Path:
    run_id = check_run_id(run_id, caller="build_report") if run_id else latest_run_id(study)
    record = run_record(study, run_id)
    out_dir = Path(out_dir) if out_dir is not None else study.root / "reports" / run_id
    out_dir.mkdir(parents=True, exist_ok=True)

    results = read_run_results(study, run_id)
    settings, minimum = results.settings, results.minimum
    estimates, quality, trust = results.estimates, results.quality, results.trust
    export_estimates(estimates, out_dir, minimum=minimum)
    fault_point("report-after-export")

    effects = effects_frame(estimates, results.catalogue)
    main = main_rows(effects, minimum, study.outcomes.primary_wave, study.wave_names)
    forest = forest_rows(main)
    labels = outcome_labels(results.catalogue)
    assignment = settings.get("assignment", study.design.assignment)
    by_group = results.effects_by_group
    plan = read_plan(study)
    assumptions, assumption_source = study_assumptions(
        study.assumptions, instrument=study.instrument.base
    )
    primary = list(study.outcomes.primary)
    deviations: list[str] = []
    if plan is not None:
        # The scorecard reads what was pre-specified, whatever the study file says now.
        assumptions = [AssumptionDeclaration.model_validate(item) for item in plan.assumptions]
        assumption_source = f"the locked pre-analysis plan (SHA-256 {plan.sha256[:12]}...)"
        primary = plan.primary
        primary_rows = main[main["outcome"].isin(primary)] if not main.empty else main
        deviations = plan_deviations(
            plan,
            study,
            inferences=(
                primary_rows["evidence_inference"].dropna().astype(str)
                if "evidence_inference" in primary_rows.columns
                else []
            ),
        )
    cards = (
        score_assumptions(
            main if not main.empty else estimates.iloc[0:0],
            assignment=assignment,
            assumptions=assumptions,
            primary=primary,
            by_group=by_group[passes(by_group, ["n_smallest_cell"], minimum)],
            primary_wave=study.outcomes.primary_wave,
            wave_names=study.wave_names,
            labels=labels,
        )
        if assumptions
        else not_declared_card(assumption_source)
    )
    names = instrument_labels(study, results.catalogue)
    tables = section_tables(results, names)
    wave = (
        str(main["wave"].iloc[0])
        if not main.empty
        else (study.outcomes.primary_wave or study.wave_names[-1])
    )
    findings = primary_findings(
        effects,
        main,
        primary,
        labels=labels,
        minimum=minimum,
        wave=wave,
        assignment=assignment,
        change=results.change,
        units=dict(
            zip(
                results.catalogue["outcome"].astype(str),
                results.catalogue.get("unit", pd.Series("", index=results.catalogue.index)),
                strict=True,
            )
        ),
    )
    groups = effect_groups(effects, minimum, assignment, main=main)
    left_out = absent_sections(
        tables,
        has_effects=bool(groups),
        sampling=settings.get("sampling", study.design.sampling),
        has_assumptions=bool(assumptions),
    )
    environment = template_environment()
    environment.filters["words"] = lambda text: in_words(text, names)
    environment.filters["wave"] = wave_words
    page = environment.get_template("report.html.j2").render(
        study=study,
        run_id=run_id,
        record=record,
        settings=settings,
        minimum=minimum,
        sections=report_sections(left_out),
        tables=tables,
        effect_groups=groups,
        findings=findings,
        design_sentence=design_sentence(
            assignment, settings.get("sampling", study.design.sampling), settings
        ),
        glossary=glossary(assignment),
        figures=report_figures(results, forest),
        primary_wave=wave,
        quality=quality,
        gap=trust[(trust["source_group"] == "gap") & passes(trust, ["n_obs"], minimum)],
        cards=cards,
        declared=bool(assumptions),
        rule_text=RULE_TEXT,
        assumption_source=assumption_source,
        plan=plan,
        deviations=deviations,
        caveats=report_caveats(
            study,
            settings,
            results.warnings,
            estimates,
            domains=frozenset(results.catalogue.get("domain", pd.Series(dtype=str)).dropna()),
        ),
        warnings=results.warnings,
        methods=estimator_methods(estimates),
        questions=outcome_questions(results.catalogue),
        data_docs=[
            (row.wave, Path(str(row.data_docs_path)).resolve().as_uri())
            for row in quality.itertuples(index=False)
            if isinstance(row.data_docs_path, str) and row.data_docs_path
        ],
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        escape=html.escape,
    )
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    skipped = pdf_skip_reason(study.report.pdf)
    if skipped is None:
        write_pdf(path)
    else:
        skip_pdf(path, skipped)
    return path


def report_command(study_file: Path, run_id: str | None = None) -> Path:
    """`trustshift report`: build the report of a run (default: the latest) and return its path."""
    study = load_study(study_file)
    path = build_report(study, run_id=run_id)
    print(f"Report written to {path}")
    if path.with_suffix(".pdf").is_file() and pdf_skip_reason(study.report.pdf) is None:
        print(f"PDF written to {path.with_suffix('.pdf')}")
    return path
