"""The display table of each section of the report, built from the run's result tables."""

from __future__ import annotations

import pandas as pd

from flows.report.effects import effects_frame, numbered_warnings
from flows.report.results import RunResults
from flows.report.suppression import Column, DisplayTable, display_table

BY_GROUP_TERMS = {"effect": "effect in the group", "difference": "difference"}


def _table(
    frame: pd.DataFrame, columns: list[Column], sizes: list[str], minimum: int, labels: int = 1
) -> DisplayTable:
    return display_table(frame, columns, size_columns=sizes, minimum=minimum, label_columns=labels)


def section_tables(results: RunResults) -> dict[str, DisplayTable]:
    """The display tables of every section but the effects, keyed as the template reads them."""
    minimum = results.minimum
    catalogue = results.catalogue
    change = results.change
    tables: dict[str, DisplayTable] = {}
    tables["sample_sizes"] = _table(
        results.sizes,
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
        results.quality,
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
        results.reasons,
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
        results.enumerators,
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
        results.attrition,
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
        results.attrition_tests,
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
        results.lee.merge(catalogue[["outcome", "label"]], on="outcome", how="left"),
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
        results.balance,
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
        results.exposure_balance,
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
        results.balance_joint,
        [
            Column(name="terms", header="Characteristics tested jointly", kind="text"),
            Column(name="statistic", header="F"),
            Column(name="df_numerator", header="df", kind="integer"),
            Column(name="df_denominator", header="df (denominator)"),
            Column(name="p_value", header="p", kind="p_value"),
            Column(name="n_obs", header="Respondents", kind="count"),
        ],
        ["n_obs"],
        minimum,
    )
    labels_of = (
        effects_frame(
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
        results.reliability,
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
    trust_columns = [
        Column(name="label", header="Source", kind="text"),
        Column(name="wave", header="Wave", kind="text"),
        Column(name="arm", header="Arm", kind="text"),
        Column(name="mean", header="Mean trust"),
        Column(name="std_dev", header="SD"),
        Column(name="n_obs", header="n", kind="count"),
    ]
    tables["trust"] = _table(results.trust, trust_columns, ["n_obs"], minimum, labels=3)
    tables["cascade"] = _table(
        results.cascade,
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
        results.beliefs,
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
    by_group = results.effects_by_group.assign(
        outcome_label=lambda rows: rows["outcome"].map(labels_of).fillna(rows["outcome"]),
        term_label=lambda rows: rows["term"].map(BY_GROUP_TERMS).fillna(rows["term"]),
    )
    tables["effects_by_group"] = _table(
        by_group,
        [
            Column(name="outcome_label", header="Outcome", kind="text"),
            Column(name="wave", header="Wave", kind="text"),
            Column(name="group", header="Group", kind="text"),
            Column(name="term_label", header="Row", kind="text"),
            Column(name="estimate", header="Effect", kind="estimate"),
            Column(name="conf_low|conf_high", header="95% CI", kind="interval"),
            Column(name="p_value", header="p", kind="p_value"),
            Column(name="n_obs", header="n", kind="count"),
            Column(name="n_clusters", header="Communities", kind="integer"),
            Column(name="n_smallest_cell", header="Smallest arm-by-group cell", kind="count"),
        ],
        ["n_smallest_cell"],
        minimum,
        labels=4,
    )
    tables["inputs"] = _table(
        results.inputs,
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
    return tables


INFERENCE_LABELS = {
    "wild_bootstrap": "wild cluster bootstrap",
    "cr2_satterthwaite": "CR2, Satterthwaite df",
    "cr1": "CR1, t(G-1)",
    "hc2": "HC2, t(N-K)",
}
"""Words for the estimates' ``primary_inference`` codes: which inference the CI and p are."""


def effect_groups(effects: pd.DataFrame, minimum: int) -> list[tuple[str, DisplayTable, list[str]]]:
    """The effects tables: primary outcomes first, then one per family, each with its notes.

    The interval and p-value shown first are the design's primary inference, named in the
    Inference column; CR1's p-value stays beside them.
    """
    if "primary_inference" in effects:
        effects = effects.assign(
            inference_label=effects["primary_inference"].map(INFERENCE_LABELS).fillna("")
        )
    effect_columns = [
        Column(name="label", header="Outcome", kind="text"),
        Column(name="family", header="Family", kind="text"),
        Column(name="waves_compared", header="Waves", kind="text"),
        Column(name="estimator", header="Estimator", kind="text"),
        Column(name="estimate", header="Effect", kind="estimate"),
        Column(name="conf_low_primary|conf_high_primary", header="95% CI", kind="interval"),
        Column(name="p_value_primary", header="p", kind="p_value"),
        Column(name="inference_label", header="Inference", kind="text"),
        Column(name="p_value", header="p (CR1)", kind="p_value"),
        Column(name="p_value_wild_bootstrap", header="p (wild bootstrap)", kind="p_value"),
        Column(name="p_value_randomization", header="p (randomization)", kind="p_value"),
        Column(name="adjusted_p_value", header="q (BH)", kind="p_value"),
        Column(name="q_value", header="sharpened q", kind="p_value"),
        Column(name="p_value_romano_wolf", header="p (Romano-Wolf)", kind="p_value"),
        Column(name="comparison_mean", header="Comparison mean", kind="estimate"),
        Column(name="standardized_effect", header="Effect in SD", kind="estimate"),
        Column(name="mde_standardized", header="MDE in SD (80% power)", kind="estimate"),
        Column(name="conclusion", header="What it shows", kind="text"),
        Column(name="n_obs", header="n", kind="count"),
        Column(name="n_clusters", header="Communities", kind="integer"),
        Column(name="notes_marker", header="Notes", kind="text"),
    ]
    shown: list[tuple[str, DisplayTable, list[str]]] = []
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
            marked, notes = numbered_warnings(rows)
            shown.append(
                (
                    title,
                    _table(marked, effect_columns, ["n_smallest_cell"], minimum, labels=4),
                    notes,
                )
            )
    return shown
