"""Build the analysis frame: analysable responses with item, construct and index outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flows import api
from flows.estimation.caveats import record_caveats
from flows.estimation.design_inference import UNIT, inference_unit
from flows.estimation.errors import EstimationError
from flows.instrument import Instrument, Item
from flows.study import Study
from flows.warehouse import WarehouseConnection, connect, has_table, warehouse_path
from measurement.constructs import ItemSpec, recode_items, score_constructs
from measurement.errors import DesignError
from measurement.indices import INDEX_COMPONENT_COLUMNS, ReferenceGroup, summary_index

INDEX_PREFIX = "index_"
COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3
SCORED_SCALES = frozenset({"likert", "percentage", "binary", "count", "money", "select_multiple"})
COMPARISON, CAMPAIGN, EVERYONE = "comparison", "campaign", "everyone"


PERCENTAGE_POINTS = "percentage points"
STANDARD_DEVIATIONS = "SD"


def outcome_unit(items: list[Item]) -> str:
    """The unit an effect on a score of ``items`` is in, in words (the report states it).

    A 0/1 item's effect is a difference of shares (``percentage points``: the report shows
    it times 100), a quiz's a difference of the share answered correctly, a rating's points
    on its scale; "" when the items do not share one scale with known bounds.
    """
    if not items:
        return ""
    if all(item.correct_answer is not None for item in items):
        return PERCENTAGE_POINTS
    scales = {item.scale for item in items}
    bounds = {(item.minimum, item.maximum) for item in items}
    if len(scales) != 1:
        return ""
    scale = scales.pop()
    if scale == "binary":
        return PERCENTAGE_POINTS
    if scale == "percentage":
        return "points on a 0-100 scale"
    if len(bounds) == 1:
        low, high = bounds.pop()
        if low is not None and high is not None:
            return f"points on a {low:g}-{high:g} scale"
    return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeSpec:
    """One pre-declared outcome: an item, a construct score, or a family's summary index."""

    name: str
    label: str
    kind: str
    family: str
    domain: str
    is_primary: bool
    scale: str
    direction: str
    n_items: int
    description: str = ""
    question: str = ""
    unit: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisData:
    """The respondent-by-wave frame with outcome columns, and what was built to get them.

    ``responses`` holds the role columns (``respondent``, ``cluster``, ``stratum``, ``weight``,
    ``treated``), ``wave`` with ``wave_order`` and ``post``, ``arm`` (campaign, comparison or
    everyone), the recoded item columns and one column per outcome (construct scores and
    ``index_<family>`` indices).
    """

    responses: pd.DataFrame
    outcomes: tuple[OutcomeSpec, ...]
    families: dict[str, list[str]]
    construct_items: dict[str, list[str]]
    index_components: pd.DataFrame
    baseline_wave: str
    later_waves: tuple[str, ...]
    messages: tuple[tuple[str, str], ...] = ()


def _item_specs(instrument: Instrument, items: Sequence[Item]) -> list[ItemSpec]:
    specs = []
    for item in items:
        low, high = item.bounds
        for stored in item.stored_names():
            specs.append(
                ItemSpec(
                    name=stored,
                    construct=item.construct_name,
                    scale="binary" if item.scale == "select_multiple" else item.scale,
                    direction=item.direction,
                    minimum=low,
                    maximum=high,
                    correct_answer=item.correct_answer,
                )
            )
    return specs


def _scorable(item: Item) -> bool:
    """Items that enter construct scores: numeric or keyed, and reversible when negative."""
    if item.direction == "negative" and None in item.bounds:
        return False
    return item.scale in SCORED_SCALES or item.correct_answer is not None


def _arm_labels(responses: pd.DataFrame, study: Study) -> pd.Series:
    if study.design.assignment == "pre_post" or "treated" not in responses.columns:
        return pd.Series(EVERYONE, index=responses.index, dtype="string")
    treated = pd.to_numeric(responses["treated"], errors="coerce")
    labels = pd.Series(pd.NA, index=responses.index, dtype="string")
    labels[treated == 1] = CAMPAIGN
    labels[treated == 0] = COMPARISON
    return labels


def analysable_keys(
    connection: WarehouseConnection, study: Study
) -> tuple[pd.DataFrame | None, str]:
    """(wave, row_number) of the rows analysis may use, or None when nothing was validated.

    Once any wave of the study has been validated, only validated waves count, without their
    quarantined rows (unless released). A study never validated is analysed whole, with a
    caveat saying so.
    """
    found = (
        connection.execute(
            "SELECT count(*) FROM validation_waves WHERE study_id = ?", [study.id]
        ).fetchone()
        if has_table(connection, "validation_waves")
        else None
    )
    if not found or not found[0]:
        return None, (
            "no wave of this study has been validated: every stored row is analysed. Run the "
            "validation (trustshift validate) so that quarantined rows are left out."
        )
    # Imported here: flows.validation loads Great Expectations (seconds), needed only now.
    from flows.validation.storage import ANALYSABLE_VIEW, create_validation_tables

    create_validation_tables(connection)
    connection.execute(ANALYSABLE_VIEW)
    # Only the keys: every interview column of three waves of 1,000,000 is gigabytes.
    rows = connection.execute(
        "SELECT a.wave, a.row_number FROM analysable_interviews a JOIN waves w "
        "USING (study_id, wave, version) WHERE a.study_id = ? "
        "ORDER BY w.wave_order, a.row_number",
        [study.id],
    ).fetch_df()
    return rows, ""


def analysable_responses(
    study: Study,
    keys: pd.DataFrame | None = None,
    *,
    connection: WarehouseConnection | None = None,
    coded: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The respondent-by-wave frame of the stored waves, analysis values (codes as NaN).

    Only rows in ``keys`` (wave, row_number) when given. Quiz items keep "don't know" as
    answered (scored wrong): their codes come from the coded frame (``coded``, the stored
    waves as answered, when the caller has read it already). Items the study lists in
    ``outcomes.not_applicable_as_zero`` count "not applicable" (skipped) as 0. Rows without
    consent are left out. ``connection`` reuses an open warehouse connection.
    """
    if connection is None:
        with connect(warehouse_path(study), read_only=True) as opened:
            return analysable_responses(study, keys, connection=opened, coded=coded)
    values = api.responses(study, connection=connection)
    # One boolean mask and one filter (kept rows, consent), not a merge and a second copy of
    # the whole frame: the frame is most of the estimation's memory.
    keep = np.ones(len(values), dtype=bool)
    if keys is not None:
        keep = pd.MultiIndex.from_frame(values[["wave", "row_number"]]).isin(
            pd.MultiIndex.from_frame(keys[["wave", "row_number"]])
        )
    if not keep.any():
        raise EstimationError(
            f"estimate_study: the warehouse {warehouse_path(study)} holds no stored wave of "
            f"study {study.id!r}. Ingest the waves first (`trustshift ingest {study.path}`)."
        )
    if "consent" in values.columns:
        consent = pd.to_numeric(values["consent"], errors="coerce")
        keep &= (consent.isna() | (consent == 1)).to_numpy()
    if not keep.all():
        values = values[keep]
    instrument = study.resolved_instrument()
    quiz = [item.name for item in instrument.items if item.correct_answer is not None]
    quiz = [name for name in quiz if name in values.columns]
    skipped = [name for name in study.outcomes.not_applicable_as_zero if name in values.columns]
    if quiz or skipped:
        needed = [*quiz, *skipped]
        if coded is None:
            coded = api.responses(study, coded=True, items=needed, connection=connection)
        answered = coded[["wave", "row_number", *needed]].set_index(["wave", "row_number"])
        answered = answered.reindex(pd.MultiIndex.from_frame(values[["wave", "row_number"]]))
        answered.index = values.index
        dont_know = study.special_codes().get("dont_know", [])
        for name in quiz:
            said_dont_know = answered[name].isin(dont_know)
            values.loc[said_dont_know, name] = answered.loc[said_dont_know, name]
        # A cascade step skipped because the step before it was "no" is itself "no".
        not_applicable = study.special_codes().get("not_applicable", [])
        for name in skipped:
            values.loc[answered[name].isin(not_applicable), name] = 0.0
    return values.reset_index(drop=True)


def _outcome_specs(study: Study, available: set[str]) -> list[OutcomeSpec]:
    instrument = study.resolved_instrument()
    constructs = {construct.name: construct for construct in instrument.constructs}
    families = study.outcomes.families
    primary = set(study.outcomes.primary)
    family_of: dict[str, str] = {}
    for family, members in families.items():
        for member in members:
            family_of.setdefault(member, family)
    for name in study.outcomes.primary:
        family_of.setdefault(name, "primary")
    specs: list[OutcomeSpec] = []
    ordered = list(dict.fromkeys([*study.outcomes.primary, *family_of]))
    for name in ordered:
        if name in constructs:
            construct = constructs[name]
            construct_members: list[Item] = [
                member for member in instrument.items_of(name) if _scorable(member)
            ]
            stored = [
                s for member in construct_members for s in member.stored_names() if s in available
            ]
            if not stored:
                continue
            scales = {member.scale for member in construct_members}
            specs.append(
                OutcomeSpec(
                    name=name,
                    label=construct.label,
                    kind="construct",
                    family=family_of[name],
                    domain=construct.domain,
                    is_primary=name in primary,
                    scale="share_correct"
                    if all(member.correct_answer is not None for member in construct_members)
                    else (scales.pop() if len(scales) == 1 else "mixed"),
                    direction="positive",
                    n_items=len(stored),
                    description=construct.description,
                    question="; ".join(member.question for member in construct_members),
                    unit=outcome_unit(construct_members),
                )
            )
        elif name in available:
            item = instrument.item(name)
            specs.append(
                OutcomeSpec(
                    name=name,
                    label=item.short_label,
                    kind="item",
                    family=family_of[name],
                    domain=constructs[item.construct_name].domain,
                    is_primary=name in primary,
                    scale=item.scale,
                    direction=item.direction,
                    n_items=1,
                    question=item.question,
                    unit=outcome_unit([item]),
                )
            )
    return specs


def analysis_data(study: Study, responses: pd.DataFrame) -> AnalysisData:
    """Recode items, score constructs and build one summary index per outcome family."""
    instrument = study.resolved_instrument()
    messages: list[tuple[str, str]] = []
    # Under copy-on-write (pandas 3) a shallow copy shares the columns until either frame
    # writes to them, so the caller's frame is never changed and a caller that drops it
    # frees its memory; older pandas copies.
    frame = responses.copy(deep=not COPY_ON_WRITE)
    wave_names = study.wave_names
    present_waves = [wave for wave in wave_names if wave in set(frame["wave"])]
    if not present_waves:
        raise EstimationError(
            f"estimate_study: none of the stored waves {sorted(set(frame['wave']))!r} is a wave "
            f"of the study file ({wave_names!r}). Fix the wave names in the study file."
        )
    baseline_wave = wave_names[0]
    frame["wave_order"] = frame["wave"].map({wave: k for k, wave in enumerate(wave_names)})
    frame["post"] = (frame["wave"] != baseline_wave).astype("float64")
    frame["arm"] = _arm_labels(frame, study)
    frame[UNIT] = inference_unit(frame, study)
    if "treated" in frame.columns:
        frame["treated"] = pd.to_numeric(frame["treated"], errors="coerce").astype("float64")
    if "weight" in frame.columns and frame["weight"].notna().any():
        frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce").astype("float64")

    scored_items = [
        item
        for item in instrument.items
        if _scorable(item) and all(s in frame.columns for s in item.stored_names())
    ]
    specs = _item_specs(instrument, scored_items)
    dont_know = study.special_codes().get("dont_know", [])
    recoded = recode_items(frame, items=specs, wrong_codes=dont_know)
    scores = score_constructs(frame, items=specs, wrong_codes=dont_know)
    available = set(frame.columns) | set(scores.columns)
    outcomes = _outcome_specs(study, available)
    for spec in outcomes:
        if spec.kind == "construct":
            frame[spec.name] = scores[spec.name]
        else:
            frame[spec.name] = pd.to_numeric(frame[spec.name], errors="coerce").astype("float64")
    recoded_names = {name: f"recoded__{name}" for name in recoded.columns}
    frame = pd.concat([frame, recoded.rename(columns=recoded_names)], axis=1)
    construct_items: dict[str, list[str]] = {}
    for spec_item in specs:
        construct_items.setdefault(spec_item.construct, []).append(recoded_names[spec_item.name])

    families: dict[str, list[str]] = {}
    components: list[pd.DataFrame] = []
    reference: ReferenceGroup = (
        "full_baseline"
        if study.design.assignment == "pre_post" or "treated" not in frame.columns
        else "comparison_baseline"
    )
    index_specs: list[OutcomeSpec] = []
    for family, members in study.outcomes.families.items():
        present = [spec.name for spec in outcomes if spec.name in members]
        families[family] = present
        if len(present) < 2:
            continue
        reverse = [
            spec.name for spec in outcomes if spec.name in present and spec.direction == "negative"
        ]
        name = f"{INDEX_PREFIX}{family}"
        try:
            with record_caveats(f"index {family}", messages):
                index = summary_index(
                    frame,
                    outcomes=present,
                    wave="wave",
                    baseline_wave=baseline_wave,
                    treated="treated" if reference == "comparison_baseline" else None,
                    reference=reference,
                    reverse=reverse,
                    name=name,
                )
        except DesignError as error:
            messages.append((f"index {family}", str(error)))
            continue
        frame[name] = index.scores
        table = index.tidy()
        table.insert(0, "family", family)
        components.append(table)
        index_specs.append(
            OutcomeSpec(
                name=name,
                label=f"{family.replace('_', ' ').capitalize()} (summary index)",
                kind="index",
                family=family,
                domain=family,
                is_primary=False,
                scale="z-score",
                direction="positive",
                n_items=len(present),
                unit=STANDARD_DEVIATIONS,
                description=f"{index.method}; {index.reference}",
            )
        )
    index_table = (
        pd.concat(components, ignore_index=True)
        if components
        else pd.DataFrame(columns=["family", *INDEX_COMPONENT_COLUMNS])
    )
    return AnalysisData(
        responses=frame,
        outcomes=(*outcomes, *index_specs),
        families=families,
        construct_items=construct_items,
        index_components=index_table,
        baseline_wave=baseline_wave,
        later_waves=tuple(wave for wave in present_waves if wave != baseline_wave),
        messages=tuple(messages),
    )
