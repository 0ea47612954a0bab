"""The display table of each section of the report, built from the run's result tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from flows.report.effects import effects_frame, numbered_warnings
from flows.report.findings import estimator_words, inference_words
from flows.report.labels import CHANGE_TESTS, in_words
from flows.report.results import RunResults
from flows.report.suppression import Column, DisplayTable, display_table

WITHHELD = "withheld"
"""An enumerator's share of answers when the enumerator did fewer interviews than the minimum."""

BY_GROUP_TERMS = {"effect": "effect in the group", "difference": "difference"}


def _table(
    frame: pd.DataFrame,
    columns: list[Column],
    sizes: list[str],
    minimum: int,
    labels: int = 1,
    assignment: str | None = None,
    counts_only: bool = False,
) -> DisplayTable:
    columns = design_columns(columns, assignment)
    return display_table(
        frame,
        columns,
        size_columns=sizes,
        minimum=minimum,
        label_columns=labels,
        counts_only=counts_only,
    )


def design_columns(columns: list[Column], assignment: str | None) -> list[Column]:
    """Columns worded for the design: an individually randomised study has no clusters, its
    errors are heteroskedasticity-robust (HC2; a panel DiD clusters on the respondent) and it
    has no wild cluster bootstrap."""
    if assignment != "individually_randomised":
        return columns
    adapted = []
    for column in columns:
        if column.name in ("n_clusters", "p_value_wild_bootstrap"):
            continue
        adapted.append(
            dataclasses.replace(column, header=column.header.replace("(CR1)", "(robust)"))
        )
    return adapted


def _named(frame: pd.DataFrame, column: str, names: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with ``column``'s variable names replaced by their labels."""
    if frame.empty or column not in frame.columns:
        return frame
    return frame.assign(**{column: frame[column].map(lambda text: in_words(text, names))})


def section_tables(
    results: RunResults, names: Mapping[str, str] | None = None
) -> dict[str, DisplayTable]:
    """The display tables of every section but the effects, keyed as the template reads them;
    ``names`` the label of each variable name (outcomes, constructs, items) tables show."""
    names = dict(names or {})
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
        assignment=results.settings.get("assignment"),
    )
    tables["quality"] = _table(
        results.quality,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="status", header="Validation", kind="text"),
            Column(name="n_rows", header="Interviews", kind="count"),
            Column(name="n_quarantined", header="Quarantined", kind="count"),
            Column(name="n_released", header="Released", kind="count"),
            Column(name="n_analysed", header="Analysed", kind="count"),
        ],
        ["n_rows"],
        minimum,
        labels=2,
        counts_only=True,
    )
    tables["reasons"] = _table(
        results.reasons,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="check_name", header="Check", kind="text"),
            Column(name="severity", header="Severity", kind="text"),
            Column(name="n_rows", header="Interviews quarantined", kind="count"),
        ],
        ["n_rows"],
        minimum,
        labels=3,
        counts_only=True,
    )
    tables["released"] = _table(
        results.released.assign(
            decided_on=pd.to_datetime(results.released["decided_at"]).dt.strftime("%Y-%m-%d"),
            # each row is one interview; the table counts interviews, never withheld
            n_interviews=1,
        ),
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="row_number", header="Row in the file", kind="integer"),
            Column(name="checks", header="Flagged by", kind="text"),
            Column(name="decided_on", header="Released on", kind="text"),
        ],
        ["n_interviews"],
        minimum,
        labels=4,
        counts_only=True,
    )
    enumerators = results.enumerators
    small = pd.to_numeric(enumerators["n_interviews"], errors="coerce").fillna(0) < minimum
    # an enumerator's don't-know share describes respondents' answers: withheld under the minimum
    enumerators = enumerators.assign(
        dont_know_shown=[
            WITHHELD
            if hidden
            else Column(name="", header="", kind="share").show(rate, row, minimum)
            for hidden, rate, (_, row) in zip(
                small, enumerators["dont_know_rate"], enumerators.iterrows(), strict=True
            )
        ]
    )
    tables["enumerators"] = _table(
        enumerators,
        [
            Column(name="wave", header="Wave", kind="text"),
            Column(name="enumerator", header="Enumerator", kind="text"),
            Column(name="n_interviews", header="Interviews", kind="count"),
            Column(name="median_duration_minutes", header="Median minutes"),
            Column(name="duration_z", header="Duration z"),
            Column(name="dont_know_shown", header="Don't know", kind="text"),
            Column(name="near_duplicate_share", header="Near duplicates", kind="share"),
            Column(name="n_quarantined", header="Quarantined", kind="count"),
        ],
        ["n_interviews"],
        minimum,
        labels=2,
        counts_only=True,
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
        _named(results.attrition_tests, "characteristics", names),
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
        assignment=results.settings.get("assignment"),
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
        _named(results.balance, "covariate", names),
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
        _named(_named(results.exposure_balance, "outcome", names), "covariate", names),
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
        _named(results.balance_joint, "terms", names),
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
            outcome_label=lambda rows: rows["outcome"].map(labels_of).fillna(rows["outcome"]),
            test=lambda rows: rows["test"].map(CHANGE_TESTS).fillna(rows["test"]),
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
        _named(results.reliability, "construct", names),
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
    tables["trust_effects"] = _table(
        results.trust_effects,
        [
            Column(name="label", header="Source", kind="text"),
            Column(name="wave", header="Wave", kind="text"),
            Column(name="estimate", header="Effect (points of 1-5)", kind="estimate"),
            Column(name="conf_low_primary|conf_high_primary", header="95% CI", kind="interval"),
            Column(name="p_value_primary", header="p", kind="p_value"),
            Column(name="n_obs", header="n", kind="count"),
        ],
        ["n_smallest_cell"],
        minimum,
        labels=2,
    )
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
        _named(results.beliefs, "item", names),
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
        assignment=results.settings.get("assignment"),
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


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectGroup:
    """The effects of one group of outcomes (the primary outcomes, or one family)."""

    title: str
    main: DisplayTable
    robustness: DisplayTable
    others: DisplayTable
    notes: list[str]
    inference: str


MAIN_EFFECT_COLUMNS = [
    Column(name="label", header="Outcome", kind="text"),
    Column(name="unit", header="Unit", kind="text"),
    Column(name="estimate", header="Effect", kind="estimate"),
    Column(name="standardized_effect", header="Effect in SD", kind="estimate"),
    Column(name="conf_low_primary|conf_high_primary", header="95% CI", kind="interval"),
    Column(name="p_value_primary", header="p", kind="p_value"),
    Column(name="q_value", header="q", kind="p_value"),
    Column(name="n_obs", header="n", kind="count"),
    Column(name="notes_marker", header="Notes", kind="text"),
]
"""The effects table a reader scans: one row per outcome, the primary inference only."""

ROBUSTNESS_COLUMNS = [
    Column(name="label", header="Outcome", kind="text"),
    Column(name="p_value_romano_wolf", header="p, step-down (Romano-Wolf)", kind="p_value"),
    Column(name="p_value_westfall_young", header="p, step-down (Westfall-Young)", kind="p_value"),
    Column(name="p_value_randomization", header="p, randomization inference", kind="p_value"),
    Column(name="p_value", header="p (CR1)", kind="p_value"),
    Column(name="p_value_wild_bootstrap", header="p (wild bootstrap)", kind="p_value"),
    Column(name="adjusted_p_value", header="q (Benjamini-Hochberg)", kind="p_value"),
    Column(name="mde_standardized", header="MDE in SD", kind="estimate"),
    Column(name="n_clusters", header="Communities", kind="integer"),
]
"""The same rows' other p-values, for the statistician (folded)."""

OTHER_COLUMNS = [
    Column(name="label", header="Outcome", kind="text"),
    Column(name="wave", header="Wave", kind="text"),
    Column(name="estimator_label", header="Estimator", kind="text"),
    Column(name="estimate", header="Effect", kind="estimate"),
    Column(name="conf_low_primary|conf_high_primary", header="95% CI", kind="interval"),
    Column(name="p_value_primary", header="p", kind="p_value"),
    Column(name="n_obs", header="n", kind="count"),
]
"""Every other estimate of the group: other waves, the other estimator, robustness models."""


def effect_groups(
    effects: pd.DataFrame,
    minimum: int,
    assignment: str | None = None,
    *,
    main: pd.DataFrame | None = None,
) -> list[EffectGroup]:
    """The effects tables: primary outcomes first, then one per family.

    Each group's main table holds the main estimator's rows at the primary wave (``main``)
    with the design's primary inference; the robustness table the other p-values of the same
    rows; the third every other estimate of the group's outcomes (other waves, estimators).
    """
    if effects.empty:
        return []
    effects = effects.assign(
        estimator_label=effects["estimator"].map(estimator_words),
        inference_label=effects.get("primary_inference", pd.Series("", index=effects.index))
        .map(inference_words)
        .fillna(""),
    )
    chosen = set(main.index) if main is not None else set()
    primary = effects[effects["is_primary"].astype(bool)]
    groups = [("Primary outcomes", primary)] if not primary.empty else []
    groups += [
        (f"Family: {str(family).replace('_', ' ')}", rows)
        for family, rows in effects[~effects["is_primary"].astype(bool)].groupby(
            "family", sort=False
        )
    ]
    shown: list[EffectGroup] = []
    for title, rows in groups:
        leading = rows[rows.index.isin(chosen)]
        marked, notes = numbered_warnings(leading)
        inference = ", ".join(dict.fromkeys(label for label in marked["inference_label"] if label))
        shown.append(
            EffectGroup(
                title=title,
                main=_table(marked, MAIN_EFFECT_COLUMNS, ["n_smallest_cell"], minimum, 2),
                robustness=_table(
                    leading, ROBUSTNESS_COLUMNS, ["n_smallest_cell"], minimum, 1, assignment
                ),
                others=_table(
                    rows[~rows.index.isin(chosen)],
                    OTHER_COLUMNS,
                    ["n_smallest_cell"],
                    minimum,
                    3,
                ),
                notes=notes,
                inference=inference,
            )
        )
    return shown
