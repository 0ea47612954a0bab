"""Descriptive result tables: samples, answers, trust, intentions, beliefs, data quality."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from flows.estimation.analysis_data import CAMPAIGN, COMPARISON, EVERYONE, AnalysisData
from flows.estimation.caveats import record_caveats
from flows.estimation.results import RESULT_TABLES
from flows.instrument import Instrument, Item
from flows.study import Study
from flows.warehouse import WarehouseConnection, has_table
from measurement.descriptives import MISSING_COLUMNS, describe_responses, missing_by_reason
from measurement.errors import DesignError
from measurement.reliability import RELIABILITY_COLUMNS, construct_reliability

# The base of a cascade step asked of every respondent.
EVERYONE_ASKED = "all respondents"
# "Likely" or "very likely" on the 1-5 intention scales counts as intending, for the cascade.
INTENDING_FROM = 4.0


def sample_sizes(data: AnalysisData) -> pd.DataFrame:
    """Respondents, clusters and strata per wave and arm."""
    # The columns counted only: each wave and cell below is a copy of the frame it is cut from.
    frame = data.responses[["wave", "wave_order", "arm", "cluster", "stratum"]]
    rows = []
    for (wave, order), rows_of_wave in frame.groupby(["wave", "wave_order"], sort=True):
        cells = [
            (arm, rows_of_wave[rows_of_wave["arm"] == arm])
            for arm in (CAMPAIGN, COMPARISON)
            if (rows_of_wave["arm"] == arm).any()
        ]
        for arm, cell in [*cells, (EVERYONE, rows_of_wave)]:
            rows.append(
                {
                    "wave": str(wave),
                    "wave_order": order,
                    "arm": arm,
                    "n_respondents": len(cell),
                    "n_clusters": cell["cluster"].nunique(),
                    "n_strata": cell["stratum"].nunique(),
                }
            )
    return pd.DataFrame(rows)


def describe_cells(frame: pd.DataFrame, variables: Sequence[str]) -> pd.DataFrame:
    """Usable answers, mean, sd and median of each variable per wave and arm, and for everyone.

    Columns: variable, wave, wave_order, arm, n_obs (usable answers), mean, std_dev, median.
    """
    parts = [_describe_each(frame, list(variables), arm=None)]
    parts[0]["arm"] = EVERYONE
    if (frame["arm"] != EVERYONE).any():
        by_arm = _describe_each(frame, list(variables), arm="arm")
        parts.insert(0, by_arm[by_arm["arm"].isin([CAMPAIGN, COMPARISON])])
    described = pd.concat(parts, ignore_index=True)
    order = frame.drop_duplicates("wave").set_index("wave")["wave_order"]
    described["wave_order"] = described["wave"].map(order).astype("int64")
    described["n_obs"] = described["n_valid"]
    return described[
        ["variable", "wave", "wave_order", "arm", "n_obs", "mean", "std_dev", "median"]
    ]


def trust_shift(study: Study, data: AnalysisData) -> pd.DataFrame:
    """Trust in each source, and the declared gap between two trust constructs, per wave and arm.

    Unweighted means of the 1-5 ratings among respondents who rated the source ("don't know"
    and "never heard of this source" are left out, so n differs by source).
    """
    instrument = study.resolved_instrument()
    frame = data.responses
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    columns: list[tuple[str, str, str, int]] = []
    for item in instrument.items:
        if (
            domains.get(item.construct_name) == "trust"
            and item.scale == "likert"
            and item.name in frame.columns
        ):
            label = _source_label(item)
            columns.append((item.name, label, item.construct_name, len(columns)))
    gap = study.analysis.trust_gap
    if len(gap) == 2 and set(gap) <= set(frame.columns):
        first, second = gap
        name = f"gap_{first}_{second}"
        # The columns described, not a copy of the whole frame, take the gap.
        kept = ["wave", "wave_order", "arm", *(c for c, _, _, _ in columns), *gap]
        frame = frame[list(dict.fromkeys(kept))]
        frame = frame.assign(**{name: frame[first] - frame[second]})
        labels = {construct.name: construct.label for construct in instrument.constructs}
        columns.append(
            (
                name,
                f"{labels.get(first, first)} minus {labels.get(second, second)} (gap)",
                "gap",
                len(columns),
            )
        )
    if not columns:
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["trust_shift"]])
    described = describe_cells(frame, [column for column, _, _, _ in columns])
    sources = pd.DataFrame(columns, columns=["variable", "label", "source_group", "source_order"])
    table = described.merge(sources, on="variable").rename(columns={"variable": "source"})
    return table[[name for name, _ in RESULT_TABLES["trust_shift"]]]


def _source_label(item: Item) -> str:
    """The item's short label, else the source named at the end of a trust question ("your
    own government")."""
    if item.label:
        return item.label
    if " from " not in item.question:
        return item.short_label
    return item.question.rsplit(" from ", 1)[-1].rstrip("?").strip()


def intention_cascade(study: Study, data: AnalysisData) -> pd.DataFrame:
    """Share at each step of the intention cascade per wave and arm.

    Steps: the binary intention items in instrument order (wish, plan, preparations), each
    preparation step of a select-multiple item, then the 1-5 intention items counted as
    intending when "likely" or "very likely" (4 or 5).
    """
    instrument = study.resolved_instrument()
    frame = data.responses
    intention = [
        construct.name for construct in instrument.constructs if construct.domain == "intention"
    ]
    steps: dict[str, tuple[str, pd.Series]] = {}
    bases: dict[str, str] = {}
    gate: str | None = None
    for item in instrument.items:
        if item.construct_name not in intention:
            continue
        if item.scale == "binary" and item.name in frame.columns:
            steps[item.name] = (item.question, frame[item.name])
            gate = item.question
        elif item.scale == "select_multiple":
            # A select-multiple step is asked only of those who said yes to the step before
            # it: its shares are of them, not of the whole sample.
            base = f"those who said yes to: {gate}" if gate else "those asked this question"
            for stored, label in zip(item.stored_names(), item.choices.values(), strict=True):
                if stored in frame.columns:
                    steps[stored] = (f"Preparation: {label}", frame[stored])
                    bases[stored] = base
    for item in instrument.items:
        if item.construct_name in intention and item.scale == "likert" and item.name in frame:
            values = pd.to_numeric(frame[item.name], errors="coerce")
            intending = (values >= INTENDING_FROM).astype("float64").where(values.notna())
            steps[f"{item.name}__likely"] = (f"{item.question} (likely or very likely)", intending)
    if not steps:
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["intention_cascade"]])
    working = frame[["wave", "wave_order", "arm"]].copy()
    for step, (_, values) in steps.items():
        working[step] = pd.to_numeric(values, errors="coerce").astype("float64")
    described = describe_cells(working, list(steps))
    labels = pd.DataFrame(
        [
            (step, label, k, bases.get(step, EVERYONE_ASKED))
            for k, (step, (label, _)) in enumerate(steps.items())
        ],
        columns=["variable", "label", "step_order", "base"],
    )
    table = described.merge(labels, on="variable").rename(
        columns={"variable": "step", "mean": "share"}
    )
    return table[[name for name, _ in RESULT_TABLES["intention_cascade"]]]


def risk_beliefs(study: Study, data: AnalysisData) -> pd.DataFrame:
    """Risk beliefs against the study's true values: mean, median, shares over and under.

    For each "out of 100" item with a ``true_value`` in the instrument, per wave and arm.
    """
    instrument = study.resolved_instrument()
    frame = data.responses
    believed = [
        item
        for item in instrument.items
        if item.true_value is not None and item.scale == "percentage" and item.name in frame
    ]
    if not believed:
        return pd.DataFrame(columns=[name for name, _ in RESULT_TABLES["risk_beliefs"]])
    working = frame[["wave", "wave_order", "arm"]].copy()
    for item in believed:
        values = pd.to_numeric(frame[item.name], errors="coerce").astype("float64")
        truth = float(item.true_value) if item.true_value is not None else np.nan
        working[item.name] = values
        working[f"{item.name}__over"] = (values > truth).astype("float64").where(values.notna())
        working[f"{item.name}__under"] = (values < truth).astype("float64").where(values.notna())
    described = describe_cells(
        working, [c for c in working.columns if c not in ("wave", "wave_order", "arm")]
    )
    keys = ["wave", "wave_order", "arm"]
    rows = []
    for item in believed:
        level = described[described["variable"] == item.name].set_index(keys)
        over = described[described["variable"] == f"{item.name}__over"].set_index(keys)["mean"]
        under = described[described["variable"] == f"{item.name}__under"].set_index(keys)["mean"]
        table = level[["n_obs", "mean", "median"]].copy()
        table["share_over"] = over
        table["share_under"] = under
        table = table.reset_index()
        table.insert(0, "true_value", item.true_value)
        table.insert(0, "label", item.question)
        table.insert(0, "item", item.name)
        rows.append(table)
    return pd.concat(rows, ignore_index=True)[[name for name, _ in RESULT_TABLES["risk_beliefs"]]]


def reliability(study: Study, data: AnalysisData, messages: list[tuple[str, str]]) -> pd.DataFrame:
    """Cronbach's alpha per construct and wave, for constructs of two or more items on one scale.

    Background and exposure constructs (age, income, channels) and select-multiple checklists
    are not scales and are skipped.
    """
    instrument = study.resolved_instrument()
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    scales: dict[str, set[str]] = {}
    for item in instrument.items:
        scales.setdefault(item.construct_name, set()).add(
            "quiz" if item.correct_answer is not None else item.scale
        )
    constructs = {
        name: members
        for name, members in data.construct_items.items()
        if len(members) >= 2
        and len(scales.get(name, set())) == 1
        # The choices of a select-multiple question are a checklist, not a scale.
        and scales.get(name) != {"select_multiple"}
        and domains.get(name) not in ("background", "exposure")
    }
    if not constructs:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    tables = []
    for construct, members in constructs.items():
        try:
            with record_caveats("reliability", messages):
                # The construct's items only: each wave's part is a copy of the frame given.
                table = construct_reliability(
                    data.responses[["wave", *members]],
                    constructs={construct: members},
                    wave="wave",
                )
        except DesignError as error:
            messages.append(("reliability", str(error)))
            continue
        tables.append(table)
    return (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=RELIABILITY_COLUMNS)
    )


def outcome_catalogue(data: AnalysisData) -> pd.DataFrame:
    """One row per outcome: label, kind, family, whether primary, scale, question, unit."""
    return pd.DataFrame(
        [
            {
                "outcome": spec.name,
                "label": spec.label,
                "kind": spec.kind,
                "family": spec.family,
                "domain": spec.domain,
                "is_primary": spec.is_primary,
                "scale": spec.scale,
                "direction": spec.direction,
                "n_items": spec.n_items,
                "description": spec.description,
                "question": spec.question,
                "unit": spec.unit,
            }
            for spec in data.outcomes
        ],
        columns=[name for name, _ in RESULT_TABLES["outcome_catalogue"]],
    )


def input_files(study: Study, data: AnalysisData, stored: pd.DataFrame) -> pd.DataFrame:
    """The stored wave files the run used, with their checksums and rows analysed.

    ``stored`` is the study's waves table (:func:`flows.api.waves`), read with the responses.
    """
    stored = stored[stored["status"] == "stored"].copy()
    order = {wave: k for k, wave in enumerate(study.wave_names)}
    analysed = data.responses.groupby("wave").size()
    stored["wave_order"] = stored["wave"].map(order)
    stored["rows_analysed"] = stored["wave"].map(analysed).fillna(0)
    return stored[
        [
            "wave",
            "wave_order",
            "version",
            "file_name",
            "sha256",
            "format",
            "rows_stored",
            "rows_analysed",
            "ingested_at",
        ]
    ].sort_values("wave_order")


def descriptives(study: Study, data: AnalysisData) -> pd.DataFrame:
    """Every numeric item, construct score and index per wave and arm.

    Items are described as answered (reverse-coded items on their own scale), so this runs
    on the analysis frame before :func:`flows.estimation.analysis_data.without_unused_items`
    drops the items no later table reads.
    """
    frame = data.responses
    variables = list(
        dict.fromkeys([*_numeric_items(study, frame.columns), *_outcome_columns(study, data)])
    )
    arm = _arm_column(frame)
    described = _describe_each(frame, variables, arm=arm)
    if arm is None:
        described["arm"] = EVERYONE
    return described


def missing_answers(
    study: Study,
    data: AnalysisData,
    coded: Iterable[pd.DataFrame],
    *,
    items_held: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Missing answers of every item per wave and arm, counted by reason.

    Counted on the codes as answered (``coded``: the stored waves as
    :func:`flows.api.responses` returns them with ``coded=True``, one frame per wave or all in
    one, so that a caller may read one wave at a time), for the rows analysed. ``items_held``
    names the item columns of all waves together (a wave read alone lacks the items only
    other waves hold, which count as blank in it); default: the items of each frame.
    """
    frame = data.responses
    instrument = study.resolved_instrument()
    arm = _arm_column(frame)
    analysed = frame[["wave", "row_number", "arm"]]
    parts = []
    for part in coded:
        part = _with_analysed_arm(part, analysed)
        if part.empty:
            continue
        absent = [name for name in items_held or () if name not in part.columns]
        if absent:
            part = part.reindex(columns=[*part.columns, *absent])
        all_items = [
            stored for item in instrument.items for stored in item.stored_names() if stored in part
        ]
        # Every item in one call: it groups the wave and arm once and reads one item at a
        # time (a call per item grouped the keys again for each item).
        table = missing_by_reason(
            part, variables=all_items, wave="wave", arm=arm, missing_codes=study.special_codes()
        )
        del part
        parts.append(table)
    missing = _in_variable_order(parts, instrument)
    if arm is None:
        missing["arm"] = EVERYONE
    return missing


def _describe_each(frame: pd.DataFrame, variables: list[str], *, arm: str | None) -> pd.DataFrame:
    """``describe_responses`` of ``variables`` per wave (and ``arm``) in one call: it groups
    the key columns once and reads one variable at a time, so the frame is not copied (a
    call per variable grouped the string keys again for each of some hundred variables)."""
    return describe_responses(frame, variables=variables, wave="wave", arm=arm)


def _with_analysed_arm(part: pd.DataFrame, analysed: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``part`` that were analysed, with their arm in the analysis.

    A wave read for exactly its analysed rows (as the estimation reads it) takes the arm by
    position, without the copy a merge makes of the whole wave; any other frame is merged.
    """
    waves = part["wave"].unique()
    if len(waves) == 1:
        rows = analysed[analysed["wave"] == waves[0]]
        if len(rows) == len(part) and np.array_equal(
            rows["row_number"].to_numpy(), part["row_number"].to_numpy()
        ):
            part = part.drop(columns="arm")
            part["arm"] = rows["arm"].array
            return part
    return part.drop(columns="arm").merge(analysed, on=["wave", "row_number"], how="inner")


def _numeric_items(study: Study, columns: Iterable[object]) -> list[str]:
    present = set(columns)
    return [
        stored
        for item in study.resolved_instrument().items
        if item.is_numeric or item.scale == "select_multiple"
        for stored in item.stored_names()
        if stored in present
    ]


def _outcome_columns(study: Study, data: AnalysisData) -> list[str]:
    items = set(_numeric_items(study, data.responses.columns))
    return [spec.name for spec in data.outcomes if spec.name not in items]


def _arm_column(frame: pd.DataFrame) -> str | None:
    """ "arm" when the frame has a campaign or comparison arm, None when everyone is one."""
    return "arm" if (frame["arm"] != EVERYONE).any() else None


def _in_variable_order(parts: Sequence[pd.DataFrame], instrument: Instrument) -> pd.DataFrame:
    """Missing-answer tables of single waves as one table in the order of one call on all
    waves: variables in the instrument's order, then waves sorted, then each part's rows."""
    if not parts:
        return pd.DataFrame(columns=list(MISSING_COLUMNS))
    if len(parts) == 1:
        return parts[0]
    table = pd.concat(parts, ignore_index=True)
    position = {
        stored: index
        for index, stored in enumerate(
            stored for item in instrument.items for stored in item.stored_names()
        )
    }
    keys = pd.DataFrame(
        {
            "variable": table["variable"].map(position),
            "wave": table["wave"].astype(str),
        }
    )
    order = keys.sort_values(["variable", "wave"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def quality_tables(
    connection: WarehouseConnection, study: Study, counts: pd.Series
) -> dict[str, pd.DataFrame]:
    """Snapshots of the validation of the stored wave versions, for the data-quality section.

    ``counts`` holds the rows analysed per wave.
    """
    if not has_table(connection, "validation_waves"):
        stored = connection.execute(
            "SELECT wave, version, false AS validated, 'not validated' AS status, rows_stored "
            "AS n_rows, 0 AS n_quarantined, 0 AS n_released FROM waves WHERE study_id = ? "
            "AND status = 'stored' "
            "ORDER BY wave_order",
            [study.id],
        ).fetch_df()
        stored["n_analysed"] = stored["wave"].map(counts).fillna(0).astype("int64")
        empty = {
            name: pd.DataFrame(columns=[column for column, _ in RESULT_TABLES[name]])
            for name in ("quarantine_reasons", "enumerator_flags", "released_rows")
        }
        return {"quality_waves": stored, **empty}
    waves = connection.execute(
        "SELECT w.wave, w.version, v.status IS NOT NULL AS validated, "
        "coalesce(v.status, 'not validated') AS status, coalesce(v.n_rows, w.rows_stored) "
        "AS n_rows, coalesce(v.n_quarantined, 0) AS n_quarantined, v.structural_failures, "
        "v.data_docs_path, v.validated_at FROM waves w LEFT JOIN validation_waves v "
        "USING (study_id, wave, version) WHERE w.study_id = ? AND w.status = 'stored' "
        "ORDER BY w.wave_order",
        [study.id],
    ).fetch_df()
    waves["n_analysed"] = waves["wave"].map(counts).fillna(0).astype("int64")
    # Imported here: flows.validation loads Great Expectations, needed only once validated.
    from flows.validation.decisions import released_rows

    released_rows_table = released_rows(connection, study)
    released = released_rows_table.groupby("wave").size()
    waves["n_released"] = waves["wave"].map(released).fillna(0).astype("int64")
    reasons = connection.execute(
        "SELECT q.wave, q.check_name, q.severity, count(DISTINCT q.row_number) AS n_rows "
        "FROM quarantine q JOIN waves w USING (study_id, wave, version) "
        "WHERE q.study_id = ? AND w.status = 'stored' GROUP BY q.wave, q.check_name, q.severity "
        "ORDER BY q.wave, n_rows DESC, q.check_name, q.severity",
        [study.id],
    ).fetch_df()
    enumerators = connection.execute(
        "SELECT e.wave, e.enumerator, e.n_interviews, e.median_duration_minutes, e.duration_z, "
        "e.dont_know_rate, e.near_duplicate_share, e.n_quarantined FROM enumerator_checks e "
        "JOIN waves w USING (study_id, wave, version) WHERE e.study_id = ? "
        "AND w.status = 'stored' ORDER BY e.wave, e.enumerator",
        [study.id],
    ).fetch_df()
    return {
        "quality_waves": waves,
        "quarantine_reasons": reasons,
        "enumerator_flags": enumerators,
        "released_rows": released_rows_table,
    }
