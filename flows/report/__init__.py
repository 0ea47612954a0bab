"""The study report: one self-contained HTML file per estimation run, read from the warehouse.

Every number comes from the result tables of the run (:mod:`flows.estimation`); plots are
inline SVG; there is no JavaScript. The minimum cell rule of the study is applied to every
table and plot (:mod:`flows.report.suppression`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from flows.estimation import (
    COMPARISON,
    EVERYONE,
    export_estimates,
    latest_run_id,
    read_result,
    run_record,
)
from flows.report import plots
from flows.report.scorecard import RULE_TEXT, score_assumptions
from flows.report.suppression import Column, DisplayTable, display_table, passes
from flows.study import Study, load_study

__all__ = ["REPORT_SECTIONS", "build_report", "report_command"]

TEMPLATES = Path(__file__).resolve().parent / "templates"

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

ESTIMATOR_FORMULAS = {
    "ipw": "y_{i,t} = α + τ·exposed_i [+ β·y_{i,baseline}] + γ'x_i + μ_stratum + ε_i, "
    "weighted by 1/e(x_i) or 1/(1 − e(x_i)), e(x) = P(exposed | x) by logistic regression",
    "ordered_logit": "P(y_{i,t} ≤ j) = Λ(κ_j − τ·treated_c − β·y_{i,baseline} − μ_stratum)",
    "ancova": "y_{i,t} = α + τ·treated_c + β·y_{i,baseline} + μ_stratum + ε_i",
    "did": "y_{i,t} = τ·(treated_c × post_t) + γ·treated_c + δ·post_t + μ_stratum + ε_i",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One section of the report: id, title, and what the template shows in it."""

    id: str
    title: str


def _table(
    frame: pd.DataFrame, columns: list[Column], sizes: list[str], minimum: int, labels: int = 1
) -> DisplayTable:
    return display_table(frame, columns, size_columns=sizes, minimum=minimum, label_columns=labels)


def _caveats(
    study: Study, settings: dict[str, str], warnings: pd.DataFrame, estimates: pd.DataFrame
) -> list[str]:
    caveats = []
    assignment = settings.get("assignment", study.design.assignment)
    if assignment == "pre_post":
        caveats.append(
            "This is a pre/post study without a comparison group: the changes it reports are "
            "changes over time, not effects of the campaign. Anything else that happened "
            "between the waves could explain them."
        )
    elif assignment == "quasi_experimental":
        caveats.append(
            "Exposure to the campaign was not randomised: the comparisons adjust for observed "
            "differences only, and people who chose to see the campaign may differ in ways the "
            "survey does not measure. Read the effects as associations."
        )
    else:
        caveats.append(
            "The campaign was randomised across communities: effects are intention-to-treat "
            "effects of being in a campaign community, whether or not a person saw it."
        )
    if not estimates.empty and (estimates["n_clusters"].dropna() < 30).any():
        caveats.append(
            "Fewer than 30 communities: the CR1 p-values may be too small; the wild cluster "
            "bootstrap and randomization-inference p-values are the ones to read."
        )
    caveats.append(
        "Intentions are not behaviour: a change in the intention to migrate does not show a "
        "change in migration. A message aimed at one destination may divert people to another."
    )
    caveats.append(
        "Survey answers on sensitive intentions can be shaded towards what respondents think "
        "the interviewer wants to hear, more so in communities that received the campaign."
    )
    if settings.get("validation_caveat"):
        caveats.append(settings["validation_caveat"])
    for message in warnings.get("message", pd.Series(dtype=str)):
        if str(message).startswith("no wave of this study has been validated"):
            caveats.append(str(message))
    return list(dict.fromkeys(caveats))


def _effects_frame(estimates: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    if estimates.empty:
        return estimates
    described = catalogue.set_index("outcome")
    labels = {
        str(name): (str(row.label) if row.kind != "item" else str(name).replace("_", " "))
        for name, row in described.iterrows()
    }
    frame = estimates.copy()
    frame["label"] = frame["outcome"].map(labels).fillna(frame["outcome"])
    frame["primary_order"] = (~frame["is_primary"].astype(bool)).astype(int)
    frame["order"] = range(len(frame))
    return frame.sort_values(["primary_order", "family", "order"])


def _forest_rows(effects: pd.DataFrame, minimum: int, wave: str | None = None) -> pd.DataFrame:
    """Publishable rows of the main estimator at ``wave`` (default: the latest that has any)."""
    if effects.empty:
        return effects
    publishable = effects[passes(effects, ["n_smallest_cell"], minimum)]
    if publishable.empty:
        return publishable
    main_estimator = str(effects["estimator"].iloc[0])
    waves = publishable.loc[publishable["estimator"] == main_estimator, "wave"]
    chosen = wave if wave in set(waves) else waves.iloc[-1]
    main = publishable[
        (publishable["estimator"] == main_estimator) & (publishable["wave"] == chosen)
    ]
    main = main.dropna(subset=["standardized_effect", "conf_low", "conf_high", "estimate"])
    scale = main["standardized_effect"] / main["estimate"]
    main = main.assign(
        standardized_low=main["conf_low"] * scale,
        standardized_high=main["conf_high"] * scale,
    )
    return main.dropna(subset=["standardized_low", "standardized_high"])


def _numbered_warnings(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Replace each row's warnings by note numbers; return the notes, each written once.

    The same caveat (attrition, few clusters) often applies to every row of a table: as a
    numbered note under the table it is read once and keeps the table's rows short.
    """
    notes: list[str] = []
    markers = []
    for text in rows.get("warnings", pd.Series(index=rows.index, dtype=object)).fillna(""):
        numbers = []
        for part in (piece.strip() for piece in str(text).split("; ")):
            if not part:
                continue
            if part not in notes:
                notes.append(part)
            numbers.append(str(notes.index(part) + 1))
        markers.append(", ".join(numbers))
    return rows.assign(notes_marker=markers), notes


def build_report(study: Study, *, run_id: str | None = None, out_dir: Path | None = None) -> Path:
    """Write ``report.html`` (and the estimates as CSV and Parquet) for one estimation run.

    ``run_id`` defaults to the latest finished run; ``out_dir`` to ``reports/<run_id>`` beside
    the study file. Returns the report's path.
    """
    run_id = run_id or latest_run_id(study)
    record = run_record(study, run_id)
    out_dir = Path(out_dir) if out_dir is not None else study.root / "reports" / run_id
    out_dir.mkdir(parents=True, exist_ok=True)

    def table(name: str) -> pd.DataFrame:
        return read_result(study, name, run_id)

    settings = dict(zip(table("run_settings")["name"], table("run_settings")["value"], strict=True))
    minimum = int(settings.get("minimum_cell_size", study.design.minimum_cell_size))
    warnings = table("run_warnings")
    estimates = table("estimates")
    catalogue = table("outcome_catalogue")
    export_estimates(estimates, out_dir)

    sizes = table("sample_sizes").sort_values(["wave_order", "arm"])
    quality = table("quality_waves")
    reasons = table("quarantine_reasons")
    enumerators = table("enumerator_flags")
    attrition = table("attrition")
    attrition_tests = table("attrition_tests")
    lee = table("lee_bounds")
    reliability = table("reliability")
    trust = table("trust_shift").sort_values(["source_order", "wave_order", "arm"])
    cascade = table("intention_cascade").sort_values(["step_order", "wave_order", "arm"])
    beliefs = table("risk_beliefs").sort_values(["item", "wave_order", "arm"])
    inputs = table("input_files")
    balance = table("balance")
    balance_joint = table("balance_joint")
    exposure_balance = table("exposure_balance")
    change = table("within_arm_change")

    effects = _effects_frame(estimates, catalogue)
    tables: dict[str, DisplayTable] = {}
    tables["sample_sizes"] = _table(
        sizes,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="arm", header="Arm", kind="text"),
            Column(name="n_respondents", header="Respondents", kind="count"),
            Column(name="n_clusters", header="Communities", kind="integer"),
            Column(name="n_strata", header="Strata", kind="integer"),
        ],
        ["n_respondents"],
        minimum,
        labels=2,
    )
    tables["quality"] = _table(
        quality,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="status", header="Validation", kind="text"),
            Column(name="n_rows", header="Interviews", kind="count"),
            Column(name="n_quarantined", header="Quarantined", kind="count"),
            Column(name="n_analysed", header="Analysed", kind="count"),
        ],
        ["n_rows"],
        minimum,
        labels=2,
    )
    tables["reasons"] = _table(
        reasons,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="check_name", header="Check", kind="text"),
            Column(name="severity", header="Severity", kind="text"),
            Column(name="n_rows", header="Rows quarantined", kind="count"),
        ],
        ["n_rows"],
        minimum,
        labels=3,
    )
    tables["enumerators"] = _table(
        enumerators,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="enumerator", header="Enumerator", kind="text"),
            Column(name="n_interviews", header="Interviews", kind="count"),
            Column(name="median_duration_minutes", header="Median minutes"),
            Column(name="duration_z", header="Duration z"),
            Column(name="dont_know_rate", header="Don't know", kind="share"),
            Column(name="near_duplicate_share", header="Near duplicates", kind="share"),
            Column(name="n_quarantined", header="Quarantined", kind="count"),
        ],
        ["n_interviews"],
        minimum,
        labels=2,
    )
    tables["attrition"] = _table(
        attrition,
        [
            Column(name="wave", header="Follow-up wave", kind="text"),
            Column(name="group", header="Group", kind="text"),
            Column(name="n_baseline", header="At baseline", kind="count"),
            Column(name="n_followed_up", header="Followed up", kind="count"),
            Column(name="follow_up_rate", header="Follow-up rate", kind="estimate"),
            Column(name="estimate", header="Difference", kind="estimate"),
            Column(name="conf_low|conf_high", header="95% CI", kind="interval"),
            Column(name="p_value", header="p", kind="p_value"),
        ],
        ["n_baseline", "n_followed_up"],
        minimum,
        labels=2,
    )
    tables["attrition_tests"] = _table(
        attrition_tests,
        [
            Column(name="wave", header="Follow-up wave", kind="text"),
            Column(name="characteristics", header="Baseline characteristics", kind="text"),
            Column(name="statistic", header="F"),
            Column(name="p_value", header="p", kind="p_value"),
            Column(name="n_obs", header="Respondents", kind="count"),
            Column(name="n_clusters", header="Communities", kind="integer"),
        ],
        ["n_obs"],
        minimum,
        labels=2,
    )
    tables["lee"] = _table(
        lee.merge(catalogue[["outcome", "label"]], on="outcome", how="left"),
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="label", header="Outcome", kind="text"),
            Column(name="lower", header="Lower bound", kind="estimate"),
            Column(name="upper", header="Upper bound", kind="estimate"),
            Column(name="conf_low|conf_high", header="95% CI (Imbens-Manski)", kind="interval"),
            Column(name="trimming_share", header="Trimmed", kind="share"),
            Column(name="trimmed_arm", header="Arm trimmed", kind="text"),
            Column(name="n_obs", header="Respondents", kind="count"),
        ],
        ["n_obs"],
        minimum,
        labels=2,
    )
    tables["balance"] = _table(
        balance,
        [
            Column(name="covariate", header="Baseline characteristic", kind="text"),
            Column(name="mean_comparison", header="Comparison mean"),
            Column(name="std_dev_comparison", header="SD"),
            Column(name="n_comparison", header="n", kind="count"),
            Column(name="mean_treated", header="Campaign mean"),
            Column(name="std_dev_treated", header="SD"),
            Column(name="n_treated", header="n", kind="count"),
            Column(name="difference", header="Difference", kind="estimate"),
            Column(name="normalized_difference", header="Normalized difference", kind="estimate"),
            Column(name="p_value", header="p (CR1)", kind="p_value"),
        ],
        ["n_comparison", "n_treated"],
        minimum,
    )
    tables["exposure_balance"] = _table(
        exposure_balance,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="outcome", header="Model of", kind="text"),
            Column(name="covariate", header="Characteristic", kind="text"),
            Column(name="mean_unexposed", header="Not exposed mean"),
            Column(name="mean_exposed", header="Exposed mean"),
            Column(name="standardized_difference", header="Std. difference", kind="estimate"),
            Column(
                name="weighted_standardized_difference",
                header="Std. difference, weighted",
                kind="estimate",
            ),
            Column(name="n_unexposed", header="n not exposed", kind="count"),
            Column(name="n_exposed", header="n exposed", kind="count"),
        ],
        ["n_unexposed", "n_exposed"],
        minimum,
        labels=3,
    )
    tables["balance_joint"] = _table(
        balance_joint,
        [
            Column(name="terms", header="Characteristics tested jointly", kind="text"),
            Column(name="statistic", header="F"),
            Column(name="df_numerator", header="df", kind="integer"),
            Column(name="df_denominator", header="df (G-1)", kind="integer"),
            Column(name="p_value", header="p", kind="p_value"),
            Column(name="n_obs", header="Respondents", kind="count"),
        ],
        ["n_obs"],
        minimum,
    )
    labels_of = (
        _effects_frame(
            pd.DataFrame({"outcome": catalogue["outcome"], "is_primary": False, "family": ""}),
            catalogue,
        ).set_index("outcome")["label"]
        if not catalogue.empty
        else pd.Series(dtype=str)
    )
    change_rows = (
        change[change["test"] != "wilcoxon"].assign(
            outcome_label=lambda rows: rows["outcome"].map(labels_of).fillna(rows["outcome"])
        )
        if not change.empty
        else change.assign(outcome_label=pd.Series(dtype=str))
    )
    tables["change"] = _table(
        change_rows,
        [
            Column(name="outcome_label", header="Outcome", kind="text"),
            Column(name="arm", header="Arm", kind="text"),
            Column(name="wave_after", header="Baseline to", kind="text"),
            Column(name="test", header="Test", kind="text"),
            Column(name="mean_before", header="Before"),
            Column(name="mean_after", header="After"),
            Column(name="estimate", header="Change", kind="estimate"),
            Column(name="conf_low|conf_high", header="95% CI", kind="interval"),
            Column(name="p_value", header="p", kind="p_value"),
            Column(name="hedges_g", header="Hedges' g", kind="estimate"),
            Column(name="n_before", header="n before", kind="count"),
            Column(name="n_after", header="n after", kind="count"),
        ],
        ["n_before", "n_after"],
        minimum,
        labels=4,
    )
    tables["reliability"] = _table(
        reliability,
        [
            Column(name="construct", header="Construct", kind="text"),
            Column(name="wave", header="Wave", kind="text"),
            Column(name="n_items", header="Items", kind="integer"),
            Column(name="estimate", header="Cronbach's alpha", kind="estimate"),
            Column(name="conf_low|conf_high", header="95% CI (Feldt)", kind="interval"),
            Column(name="n_obs", header="Respondents", kind="count"),
        ],
        ["n_obs"],
        minimum,
        labels=2,
    )
    effect_columns = [
        Column(name="label", header="Outcome", kind="text"),
        Column(name="family", header="Family", kind="text"),
        Column(name="waves_compared", header="Waves", kind="text"),
        Column(name="estimator", header="Estimator", kind="text"),
        Column(name="estimate", header="Effect", kind="estimate"),
        Column(name="conf_low|conf_high", header="95% CI (CR1)", kind="interval"),
        Column(name="p_value", header="p (CR1)", kind="p_value"),
        Column(name="p_value_wild_bootstrap", header="p (wild bootstrap)", kind="p_value"),
        Column(name="p_value_randomization", header="p (randomization)", kind="p_value"),
        Column(name="adjusted_p_value", header="q (BH)", kind="p_value"),
        Column(name="q_value", header="sharpened q", kind="p_value"),
        Column(name="p_value_romano_wolf", header="p (Romano-Wolf)", kind="p_value"),
        Column(name="comparison_mean", header="Comparison mean", kind="estimate"),
        Column(name="standardized_effect", header="Effect in SD", kind="estimate"),
        Column(name="n_obs", header="n", kind="count"),
        Column(name="n_clusters", header="Communities", kind="integer"),
        Column(name="notes_marker", header="Notes", kind="text"),
    ]
    effect_groups = []
    if not effects.empty:
        primary = effects[effects["is_primary"].astype(bool)]
        groups = [("Primary outcomes", primary)] if not primary.empty else []
        groups += [
            (f"Family: {family}", rows)
            for family, rows in effects[~effects["is_primary"].astype(bool)].groupby(
                "family", sort=False
            )
        ]
        for title, rows in groups:
            marked, notes = _numbered_warnings(rows)
            effect_groups.append(
                (
                    title,
                    _table(marked, effect_columns, ["n_smallest_cell"], minimum, labels=4),
                    notes,
                )
            )
    trust_columns = [
        Column(name="label", header="Source", kind="text"),
        Column(name="wave", header="Wave", kind="text"),
        Column(name="arm", header="Arm", kind="text"),
        Column(name="mean", header="Mean trust"),
        Column(name="std_dev", header="SD"),
        Column(name="n_obs", header="n", kind="count"),
    ]
    tables["trust"] = _table(trust, trust_columns, ["n_obs"], minimum, labels=3)
    tables["cascade"] = _table(
        cascade,
        [
            Column(name="label", header="Step", kind="text"),
            Column(name="wave", header="Wave", kind="text"),
            Column(name="arm", header="Arm", kind="text"),
            Column(name="share", header="Share", kind="share"),
            Column(name="n_obs", header="n", kind="count"),
        ],
        ["n_obs"],
        minimum,
        labels=3,
    )
    tables["beliefs"] = _table(
        beliefs,
        [
            Column(name="item", header="Risk", kind="text"),
            Column(name="wave", header="Wave", kind="text"),
            Column(name="arm", header="Arm", kind="text"),
            Column(name="true_value", header="True value"),
            Column(name="mean", header="Mean belief"),
            Column(name="median", header="Median"),
            Column(name="share_over", header="Over-estimate", kind="share"),
            Column(name="share_under", header="Under-estimate", kind="share"),
            Column(name="n_obs", header="n", kind="count"),
        ],
        ["n_obs"],
        minimum,
        labels=3,
    )
    tables["inputs"] = _table(
        inputs,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="version", header="Version", kind="text"),
            Column(name="file_name", header="File", kind="text"),
            Column(name="sha256", header="SHA-256", kind="text"),
            Column(name="rows_stored", header="Rows stored", kind="count"),
            Column(name="rows_analysed", header="Rows analysed", kind="count"),
        ],
        ["rows_stored"],
        minimum,
        labels=4,
    )

    figures: dict[str, str] = {}
    arms_only = [EVERYONE] if (sizes["arm"] == EVERYONE).all() else ["campaign", COMPARISON]
    forest = _forest_rows(effects, minimum, study.outcomes.primary_wave)
    if not forest.empty:
        figures["forest"] = plots.forest_plot(forest)
    trust_plotted = trust[passes(trust, ["n_obs"], minimum) & trust["arm"].isin(arms_only)]
    if not trust_plotted.empty:
        figures["trust"] = plots.trust_plot(trust_plotted)
    cascade_plotted = cascade[passes(cascade, ["n_obs"], minimum) & cascade["arm"].isin(arms_only)]
    if not cascade_plotted.empty:
        figures["cascade"] = plots.cascade_plot(cascade_plotted)
    beliefs_plotted = beliefs[passes(beliefs, ["n_obs"], minimum) & beliefs["arm"].isin(arms_only)]
    if not beliefs_plotted.empty:
        figures["beliefs"] = plots.risk_plot(beliefs_plotted)

    gap = trust[(trust["source_group"] == "gap") & passes(trust, ["n_obs"], minimum)]
    latest_main = (
        _forest_rows(effects, minimum, study.outcomes.primary_wave)
        if not effects.empty
        else effects
    )
    cards = score_assumptions(
        latest_main if not latest_main.empty else estimates.iloc[0:0],
        assignment=settings.get("assignment", study.design.assignment),
    )
    specifications = (
        estimates[["estimator", "specification", "inference"]].drop_duplicates("estimator")
        if not estimates.empty
        else pd.DataFrame(columns=["estimator", "specification", "inference"])
    )
    methods = [
        {
            "estimator": row.estimator,
            "specification": row.specification,
            "inference": row.inference,
            "formula": ESTIMATOR_FORMULAS.get(str(row.estimator).lower().split()[0], ""),
        }
        for row in specifications.itertuples(index=False)
    ]
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    page = environment.get_template("report.html.j2").render(
        study=study,
        run_id=run_id,
        record=record,
        settings=settings,
        minimum=minimum,
        sections=[Section(id=key, title=title) for key, title in REPORT_SECTIONS],
        tables=tables,
        effect_groups=effect_groups,
        figures=figures,
        primary_wave=(str(latest_main["wave"].iloc[0]) if not latest_main.empty else "latest"),
        quality=quality,
        gap=gap,
        cards=cards,
        rule_text=RULE_TEXT,
        caveats=_caveats(study, settings, warnings, estimates),
        warnings=warnings,
        methods=methods,
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
    return path


def report_command(study_file: Path, run_id: str | None = None) -> Path:
    """`trustshift report`: build the report of a run (default: the latest) and return its path."""
    study = load_study(study_file)
    path = build_report(study, run_id=run_id)
    print(f"Report written to {path}")
    return path
