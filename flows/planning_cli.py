"""The design-stage commands: `trustshift design`, `trustshift assign`, `trustshift plan`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from flows.errors import StudyFileError
from flows.study import Study, load_study

console = Console(soft_wrap=True)
plan_app = typer.Typer(help="Lock the pre-analysis plan and show it.", no_args_is_help=True)

EFFECT_GRID = tuple(round(0.02 * step, 2) for step in range(0, 31))
"""Effects (SD units) at which the power curves are drawn."""


def _analysis(study: Study) -> str:
    return "ancova" if study.design.sampling == "panel" else "did"


def design_rows(
    study: Study,
    *,
    clusters: int,
    cluster_size: float,
    icc: dict[str, float],
    r_squared: dict[str, float],
    attrition: float,
    cluster_size_cv: float,
    n_strata: int,
    power: float = 0.8,
) -> pd.DataFrame:
    """One row per primary outcome: its assumptions, the MDE and the power at its SESOI."""
    # Imported here: `measurement` loads statsmodels and pingouin (over a second), and every
    # `trustshift` command imports this module to register the planning commands.
    from measurement.errors import DesignError
    from measurement.power import (
        PlannedDesign,
        design_power,
        minimum_detectable_effect,
        required_size,
    )

    rows = []
    for outcome in study.outcomes.primary:
        planned = PlannedDesign(
            n_clusters=clusters,
            cluster_size=cluster_size,
            icc=max(0.0, icc.get(outcome, icc.get("*", 0.05))),
            cluster_size_cv=cluster_size_cv,
            analysis=_analysis(study),  # type: ignore[arg-type]
            r_squared=max(0.0, r_squared.get(outcome, r_squared.get("*", 0.0))),
            attrition=attrition,
            n_strata=n_strata,
        )
        mde = minimum_detectable_effect(planned, power=power)
        sesoi = study.outcomes.sesoi.get(outcome)
        at_sesoi = design_power(planned, effect=sesoi).power if sesoi else math.nan
        needed = math.nan
        if sesoi:
            try:
                needed = float(
                    required_size(planned, effect=sesoi, power=power).design.n_clusters or 0
                )
            except DesignError:
                needed = math.nan
        rows.append(
            {
                "outcome": outcome,
                "icc": planned.icc,
                "r_squared": planned.r_squared,
                "design_effect": mde.design_effect,
                "df": mde.df,
                "mde": mde.effect,
                "sesoi": sesoi if sesoi else math.nan,
                "power_at_sesoi": at_sesoi,
                "clusters_for_sesoi": needed,
                "curve": [
                    float(design_power(planned, effect=effect).power) for effect in EFFECT_GRID
                ],
                "planned": planned,
            }
        )
    return pd.DataFrame(rows)


def _pairs(text: str | None, option: str) -> dict[str, float]:
    """``"0.05"`` (every outcome) or ``"outcome_a=0.1,outcome_b=0.05"``."""
    if not text:
        return {}
    found: dict[str, float] = {}
    for part in (piece.strip() for piece in text.split(",") if piece.strip()):
        name, _, value = part.rpartition("=")
        try:
            found[name or "*"] = float(value)
        except ValueError:
            raise StudyFileError(
                f"design: {option} {text!r}: {part!r} is not a number or outcome=number. Pass "
                "for example 0.05 or outcome_a=0.08,outcome_b=0.04 (outcome names of the study)."
            ) from None
    return found


def _from_baseline(study: Study) -> tuple[dict[str, float], dict[str, float], float, float]:
    """ICC and baseline R-squared of each primary outcome from the stored waves."""
    from flows import api
    from flows.estimation.analysis_data import analysis_data
    from measurement.icc import baseline_r_squared, intracluster_correlation

    responses = api.responses(study)
    if responses.empty:
        raise StudyFileError(
            f"design: study {study.id!r} has no stored wave to read ICCs from. Ingest a "
            "baseline or pilot first (`trustshift ingest`), or pass --icc."
        )
    data = analysis_data(study, responses)
    frame = data.responses
    baseline = frame[frame["wave"] == data.baseline_wave]
    iccs: dict[str, float] = {}
    r2: dict[str, float] = {}
    table = Table(title="From the stored waves (intervals: Searle F / cluster bootstrap)")
    for column in ("outcome", "ICC", "95% CI", "baseline R²", "95% CI "):
        table.add_column(column)
    sizes = baseline.groupby("cluster").size()
    for outcome in study.outcomes.primary:
        if outcome not in baseline.columns:
            continue
        icc = intracluster_correlation(baseline, outcome=outcome, cluster="cluster")
        iccs[outcome] = icc.estimate
        r2_text, r2_interval = "no later wave", ""
        if study.design.sampling == "panel" and data.later_waves:
            fit = baseline_r_squared(
                frame,
                outcome=outcome,
                respondent="respondent",
                cluster="cluster",
                wave="wave",
                baseline_wave=data.baseline_wave,
                follow_up_wave=data.later_waves[0],
                draws=199,
            )
            r2[outcome] = fit.r_squared
            r2_text, r2_interval = (
                f"{fit.r_squared:.3f}",
                f"{fit.conf_low:.3f} to {fit.conf_high:.3f}",
            )
        table.add_row(
            outcome,
            f"{icc.estimate:.3f}",
            f"{icc.conf_low:.3f} to {icc.conf_high:.3f}",
            r2_text,
            r2_interval,
        )
    console.print(table)
    cv = float(sizes.std(ddof=1) / sizes.mean()) if len(sizes) > 1 else 0.0
    return iccs, r2, float(sizes.mean()), cv


def power_curves_html(study: Study, rows: pd.DataFrame, description: str) -> str:
    """A self-contained HTML page: one inline SVG power curve per primary outcome."""
    width, height, pad = 420, 240, 36
    colours = ["#1b6ca8", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#2c3e50"]

    def x(effect: float) -> float:
        return pad + (width - 2 * pad) * effect / EFFECT_GRID[-1]

    def y(power: float) -> float:
        return height - pad - (height - 2 * pad) * power

    lines = []
    for number, row in enumerate(rows.to_dict("records")):
        points = " ".join(
            f"{x(e):.1f},{y(p):.1f}" for e, p in zip(EFFECT_GRID, row["curve"], strict=True)
        )
        colour = colours[number % len(colours)]
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
            f'<text x="{width - pad + 4}" y="{y(row["curve"][-1]) + 4 + 12 * number:.1f}" '
            f'font-size="10" fill="{colour}">{row["outcome"]}</text>'
        )
    axis = (
        f'<line x1="{pad}" y1="{y(0)}" x2="{width - pad}" y2="{y(0)}" stroke="#333"/>'
        f'<line x1="{pad}" y1="{y(0)}" x2="{pad}" y2="{y(1)}" stroke="#333"/>'
        f'<line x1="{pad}" y1="{y(0.8)}" x2="{width - pad}" y2="{y(0.8)}" stroke="#999" '
        'stroke-dasharray="4 3"/>'
        f'<text x="{width / 2}" y="{height - 6}" font-size="11" text-anchor="middle">effect '
        "(SD of the outcome)</text>"
        f'<text x="4" y="{y(0.8) + 4}" font-size="10">0.8</text>'
        + "".join(
            f'<text x="{x(e):.1f}" y="{y(0) + 14}" font-size="10" text-anchor="middle">{e:g}</text>'
            for e in (0, 0.2, 0.4, 0.6)
        )
    )

    def shown(value: float, pattern: str) -> str:
        return "" if math.isnan(value) else format(value, pattern)

    table_rows = "".join(
        f"<tr><td>{row['outcome']}</td><td>{row['icc']:.3f}</td><td>{row['r_squared']:.2f}</td>"
        f"<td>{row['mde']:.3f}</td><td>{shown(row['sesoi'], 'g')}</td>"
        f"<td>{shown(row['power_at_sesoi'], '.2f')}</td></tr>"
        for row in rows.to_dict("records")
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Power curves: {study.id}</title></head><body style='font-family:sans-serif'>"
        f"<h1>Power curves: {study.title}</h1><p>{description}</p>"
        f"<svg width='{width + 120}' height='{height}' role='img' aria-label='power curves'>"
        f"{axis}{''.join(lines)}</svg>"
        "<table border='1' cellpadding='4'><caption>Minimum detectable effects at 80% power "
        "(SD units)</caption><tr><th>outcome</th><th>ICC</th><th>R²</th><th>MDE</th>"
        f"<th>SESOI</th><th>power at SESOI</th></tr>{table_rows}</table></body></html>"
    )


def design_command(
    study_file: Annotated[Path, typer.Argument(help="The study file (study.toml).")],
    clusters: Annotated[int, typer.Option(help="Clusters to randomise (both arms).")] = 40,
    cluster_size: Annotated[
        float | None, typer.Option(help="Respondents per cluster (default: the baseline's).")
    ] = None,
    icc: Annotated[
        str | None, typer.Option(help="ICC: 0.05 for all, or outcome=value,... pairs.")
    ] = None,
    r_squared: Annotated[
        str | None, typer.Option(help="Baseline R²: 0.3 for all, or outcome=value pairs.")
    ] = None,
    attrition: Annotated[float, typer.Option(help="Share lost by the endline.")] = 0.0,
    cluster_size_cv: Annotated[float, typer.Option(help="CV of cluster sizes.")] = 0.0,
    strata: Annotated[int, typer.Option(help="Randomisation strata.")] = 1,
    from_baseline: Annotated[
        bool, typer.Option("--from-baseline", help="Read ICC and R² from the stored waves.")
    ] = False,
    html: Annotated[Path | None, typer.Option(help="Write power curves to this HTML file.")] = None,
    simulations: Annotated[
        int,
        typer.Option(
            help="Also diagnose each design by simulation (ANCOVA + wild bootstrap), this many "
            "studies at the SESOI (or the MDE); 0 skips it."
        ),
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the simulations.")] = 20261130,
) -> None:
    """Power and minimum detectable effects of each primary outcome for a planned design."""
    study = load_study(study_file)
    if not study.outcomes.primary:
        raise StudyFileError(
            f"design: {study.path} declares no primary outcome. List them under "
            "[outcomes] primary = [...]."
        )
    iccs, r2 = _pairs(icc, "--icc"), _pairs(r_squared, "--r-squared")
    size, cv = cluster_size, cluster_size_cv
    if from_baseline:
        found_icc, found_r2, mean_size, found_cv = _from_baseline(study)
        iccs = {**found_icc, **iccs}
        r2 = {**found_r2, **r2}
        size = size or mean_size
        cv = cv or found_cv
    rows = design_rows(
        study,
        clusters=clusters,
        cluster_size=size or 15.0,
        icc=iccs,
        r_squared=r2,
        attrition=attrition,
        cluster_size_cv=cv,
        n_strata=strata,
    )
    description = (
        f"{clusters} clusters of {size or 15.0:g} respondents ({_analysis(study)}), attrition "
        f"{attrition:.0%}, cluster-size CV {cv:.2f}, {strata} stratum/strata; two-sided 5% test "
        f"on t({int(rows['df'].iloc[0])})."
    )
    table = Table(title=f"Minimum detectable effects at 80% power: {description}")
    table.add_column("outcome", no_wrap=True)
    for column in ("ICC", "R²", "design effect", "MDE (SD)", "SESOI", "power at SESOI",
                   "clusters for SESOI"):  # fmt: skip
        table.add_column(column)
    for row in rows.to_dict("records"):
        table.add_row(
            row["outcome"],
            f"{row['icc']:.3f}",
            f"{row['r_squared']:.2f}",
            f"{row['design_effect']:.2f}",
            f"{row['mde']:.3f}",
            "" if math.isnan(row["sesoi"]) else f"{row['sesoi']:g}",
            "" if math.isnan(row["power_at_sesoi"]) else f"{row['power_at_sesoi']:.2f}",
            "" if math.isnan(row["clusters_for_sesoi"]) else f"{row['clusters_for_sesoi']:.0f}",
        )
    console.print(table)
    if html is not None:
        html.write_text(power_curves_html(study, rows, description), encoding="utf-8")
        console.print(f"Power curves written to {html}", highlight=False)
    if simulations > 0:
        _print_diagnosis(rows, simulations=simulations, seed=seed)


def _print_diagnosis(rows: pd.DataFrame, *, simulations: int, seed: int) -> None:
    """Simulated power, size, bias and coverage of each outcome's design (progress: a bar on a
    terminal, nothing on a pipe)."""
    from flows.plan.diagnosis import diagnose_planned_designs

    designs = {str(row["outcome"]): row["planned"] for row in rows.to_dict("records")}
    effects = {
        str(row["outcome"]): float(row["sesoi"] if not math.isnan(row["sesoi"]) else row["mde"])
        for row in rows.to_dict("records")
    }
    table = diagnose_planned_designs(
        designs, effects, simulations=simulations, seed=seed, inference="wild_bootstrap"
    )
    shown = Table(title=f"Design diagnosis: {simulations} simulated studies per outcome")
    shown.add_column("outcome", no_wrap=True)
    for column in ("effect (SD)", "analytic power", "simulated power", "size", "bias",
                   "coverage"):  # fmt: skip
        shown.add_column(column)
    for row in table.to_dict("records"):
        shown.add_row(
            str(row["outcome"]), f"{row['effect']:.3f}", f"{row['analytic_power']:.3f}",
            f"{row['power']:.3f} ± {row['power_se']:.3f}",
            f"{row['size']:.3f} ± {row['size_se']:.3f}",
            f"{row['bias']:+.4f} ± {row['bias_se']:.4f}",
            f"{row['coverage']:.3f} ± {row['coverage_se']:.3f}",
        )  # fmt: skip
    console.print(shown)


def assign_command(
    study_file: Annotated[Path, typer.Argument(help="The study file (study.toml).")],
    units: Annotated[Path, typer.Option(help="CSV with one row per cluster (and its stratum).")],
    seed: Annotated[int, typer.Option(help="Seed of the draw (recorded).")],
    out: Annotated[Path, typer.Option(help="Where to write the assignment CSV.")] = Path(
        "assignment.csv"
    ),
    treated_share: Annotated[float, typer.Option(help="Share assigned to the campaign.")] = 0.5,
    covariates: Annotated[
        str, typer.Option(help="Comma-separated columns whose balance is shown.")
    ] = "",
    max_difference: Annotated[
        float | None,
        typer.Option(help="Re-randomise until every |standardized difference| is at most this."),
    ] = None,
) -> None:
    """Randomly assign the clusters (within strata) and write the study's arm column."""
    from flows.assignment_record import write_assignment_record
    from measurement.assignment import assign_units
    from measurement.errors import DesignError
    from measurement.rerandomization import BalanceRule

    study = load_study(study_file)
    unit = study.columns.cluster or study.columns.respondent
    arm = study.columns.arm
    if arm is None or not arm.comparison:
        raise StudyFileError(
            f"assign: {study.path} has no arm column with treatment and comparison values. "
            'Declare columns.arm = { column = "arm", treatment = [...], comparison = [...] }.'
        )
    try:
        # Identifiers stay text: "007" must not become 7 in the assignment and its record.
        frame = pd.read_csv(units, dtype={unit: str})
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise StudyFileError(
            f"assign: cannot read {units} as CSV ({error}). Fix the file."
        ) from None
    stratum = study.columns.stratum if study.columns.stratum in frame.columns else None
    if unit not in frame.columns:
        raise StudyFileError(
            f"assign: {units} has no column {unit!r} (the study's unit of assignment); its "
            f"columns are {list(frame.columns)}. Add it or rename the column."
        )
    chosen = [name.strip() for name in covariates.split(",") if name.strip()]
    if max_difference is not None and not chosen:
        raise StudyFileError(
            "assign: --max-difference needs --covariates, the columns the rule judges. Name "
            "them, for example --covariates population,baseline_trust."
        )
    try:
        rule = (
            BalanceRule(covariates=tuple(chosen), threshold=max_difference)
            if max_difference is not None
            else None
        )
        drawn = assign_units(
            frame,
            unit=unit,
            seed=seed,
            stratum=stratum,
            treated_share=treated_share,
            covariates=chosen,
            rule=rule,
        )
    except (DesignError, ValueError) as error:
        raise StudyFileError(f"assign: {error}") from None
    written = frame[[unit, *([stratum] if stratum else [])]].copy()
    written[arm.column] = [
        arm.treatment[0] if value else arm.comparison[0] for value in drawn.treated.to_numpy()
    ]
    written.to_csv(out, index=False)
    record_path = out.with_suffix(".json")
    write_assignment_record(
        record_path,
        drawn.record,
        units_file=units,
        unit=unit,
        stratum=stratum,
        extra={
            "study_id": study.id,
            "treated_share": treated_share,
            "rule_description": drawn.rule,
            "balance": drawn.balance.to_dict("records"),
        },
    )
    table = Table(title=f"Assignment (seed {seed}; {drawn.rule}; {drawn.draws} draw(s))")
    for column in ("stratum", "campaign", "comparison"):
        table.add_column(column)
    groups = written.groupby(stratum) if stratum else [("all", written)]
    for name, rows in groups:
        counts = rows[arm.column].value_counts()
        table.add_row(
            str(name),
            str(int(counts.get(arm.treatment[0], 0))),
            str(int(counts.get(arm.comparison[0], 0))),
        )
    console.print(table)
    if not drawn.balance.empty:
        balance = Table(title="Balance of the drawn assignment")
        for column in ("covariate", "campaign mean", "comparison mean", "std. difference"):
            balance.add_column(column)
        for row in drawn.balance.to_dict("records"):
            balance.add_row(
                row["covariate"],
                f"{row['mean_treated']:.3g}",
                f"{row['mean_comparison']:.3g}",
                f"{row['standardized_difference']:+.3f}",
            )
        console.print(balance)
    console.print(f"Assignment written to {out} (record: {record_path})", highlight=False)


@plan_app.command("lock")
def plan_lock(
    study_file: Annotated[Path, typer.Argument(help="The study file (study.toml).")],
    reason: Annotated[
        str | None,
        typer.Option(help="Why the plan is locked after the endline is stored, or re-locked."),
    ] = None,
) -> None:
    """Freeze the primary outcomes, families, wave, estimator, inference, SESOIs and mapping."""
    from flows.plan import PLAN_FILE, lock_plan

    study = load_study(study_file)
    plan = lock_plan(study, reason=reason)
    console.print(
        f"Plan locked at {plan.locked_at}: SHA-256 {plan.sha256} ({study.root / PLAN_FILE})",
        highlight=False,
    )


@plan_app.command("show")
def plan_show(
    study_file: Annotated[Path, typer.Argument(help="The study file (study.toml).")],
) -> None:
    """Show the locked plan and how the study file now departs from it."""
    from flows.plan import plan_deviations, read_plan

    study = load_study(study_file)
    plan = read_plan(study)
    if plan is None:
        console.print(f"No plan is locked for {study.id!r}; lock one with `trustshift plan lock`.")
        raise typer.Exit(0)
    console.print(f"Locked at {plan.locked_at}; SHA-256 {plan.sha256}", highlight=False)
    console.print_json(json.dumps(plan.content))
    for deviation in plan_deviations(plan, study) or ["no deviation"]:
        console.print(f"  - {deviation}", highlight=False)


def register(app: typer.Typer, reported: object) -> None:
    """Add the design-stage commands to the `trustshift` app (``reported`` maps errors)."""
    wrap = reported if callable(reported) else (lambda command: command)
    app.command("design")(wrap(design_command))
    app.command("assign")(wrap(assign_command))
    for command in plan_app.registered_commands:
        if command.callback is not None:
            command.callback = wrap(command.callback)
    app.add_typer(plan_app, name="plan")
