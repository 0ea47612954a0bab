"""Build the analysis frame: analysable responses with item, construct and index outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

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
# The column of an item recoded to a value different from its answer (reverse-coded, quiz).
RECODED_PREFIX = "recoded__"
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
    everyone), the item columns, ``recoded__<item>`` for each scored item whose recoded value
    differs from its answer (reverse-coded and quiz items), and one column per outcome
    (construct scores and ``index_<family>`` indices). ``construct_items`` names each
    construct's recoded item columns (the item's own column where recoding leaves it as it
    is); it is empty once :func:`without_unused_items` has dropped the items.
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
    items: Sequence[str] | None = None,
    waves: Sequence[str] | None = None,
    role_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The respondent-by-wave frame of the stored waves, analysis values (codes as NaN).

    Only rows in ``keys`` (wave, row_number) when given. Quiz items keep "don't know" as
    answered (scored wrong): their codes come from the coded frame (``coded``, the stored
    waves as answered, when the caller has read it already). Items the study lists in
    ``outcomes.not_applicable_as_zero`` count "not applicable" (skipped) as 0. Rows without
    consent are left out. ``items`` limits the item columns, ``waves`` the waves,
    ``role_columns`` the role columns besides ``wave`` and ``row_number`` (default: all).
    Rows left out are never read into memory. ``connection`` reuses an open warehouse
    connection.
    """
    if connection is None:
        with connect(warehouse_path(study), read_only=True) as opened:
            return analysable_responses(
                study,
                keys,
                connection=opened,
                coded=coded,
                items=items,
                waves=waves,
                role_columns=role_columns,
            )
    rows = _AnalysableRows(keys)
    values = api.responses(
        study,
        waves=waves,
        items=items,
        keep=rows.keep,
        role_columns=role_columns,
        connection=connection,
    )
    if not rows.keyed:
        raise EstimationError(
            f"estimate_study: the warehouse {warehouse_path(study)} holds no stored wave of "
            f"study {study.id!r}. Ingest the waves first (`trustshift ingest {study.path}`)."
        )
    instrument = study.resolved_instrument()
    quiz = [item.name for item in instrument.items if item.correct_answer is not None]
    quiz = [name for name in quiz if name in values.columns]
    skipped = [name for name in study.outcomes.not_applicable_as_zero if name in values.columns]
    if quiz or skipped:
        needed = [*quiz, *skipped]
        if coded is None:
            answered = _codes_of(study, values, needed, rows, waves, connection)
        else:
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


class _AnalysableRows:
    """Which stored rows of a wave analysis may use: in the analysable keys (when given) and
    with consent (or no consent recorded). Counts the keyed rows it saw, so that a study with
    none is told apart from one whose rows all lack consent."""

    def __init__(self, keys: pd.DataFrame | None) -> None:
        self.keyed = 0
        self._rows: dict[str, np.ndarray] | None = (
            None
            if keys is None
            else {
                str(wave): part.to_numpy(dtype=np.int64)
                for wave, part in keys.groupby("wave", sort=False)["row_number"]
            }
        )

    def keep(self, roles: pd.DataFrame) -> np.ndarray:
        if self._rows is None:
            kept = np.ones(len(roles), dtype=bool)
        else:
            wave = str(roles["wave"].iat[0])
            listed = self._rows.get(wave, np.empty(0, dtype=np.int64))
            kept = np.isin(roles["row_number"].to_numpy(dtype=np.int64), listed)
        self.keyed += int(kept.sum())
        if "consent" in roles.columns:
            consent = pd.to_numeric(roles["consent"], errors="coerce")
            kept &= (consent.isna() | (consent == 1)).to_numpy()
        return kept


def _codes_of(
    study: Study,
    values: pd.DataFrame,
    items: list[str],
    rows: _AnalysableRows,
    waves: Sequence[str] | None,
    connection: WarehouseConnection,
) -> pd.DataFrame:
    """The codes as answered of ``items`` for the rows of ``values`` (same index), read one
    wave at a time without role columns: the same rows in the same order as the values, so
    aligned by position."""
    codes = {name: np.full(len(values), np.nan) for name in items}
    wave_of_row = values["wave"].to_numpy()
    row_numbers = values["row_number"].to_numpy()
    chosen = study.wave_names if waves is None else [w for w in study.wave_names if w in waves]
    for wave in chosen:
        positions = np.flatnonzero(wave_of_row == wave)
        part = api.responses(
            study,
            coded=True,
            waves=[wave],
            items=items,
            keep=rows.keep,
            role_columns=(),
            connection=connection,
        )
        _check_aligned(row_numbers[positions], part["row_number"].to_numpy())
        for name in items:
            if name in part.columns:
                codes[name][positions] = part[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(codes, index=values.index, copy=False)


def _check_aligned(expected: np.ndarray, found: np.ndarray) -> None:
    if not np.array_equal(expected, found):
        raise EstimationError(
            "analysable_responses: the coded answers and the values were read for different "
            f"rows ({len(found)} and {len(expected)}); the warehouse changed while it was "
            "read. Run the estimation again."
        )


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


def _wave_order(waves: pd.Series, wave_names: Sequence[str]) -> pd.Series:
    """The position of each row's wave in the study's waves (int64; NaN for a wave the study
    does not name). Looked up once per distinct wave: mapping the string column called
    Python once per row (0.36 s of analysis_data at 100,000 per wave)."""
    position = {wave: k for k, wave in enumerate(wave_names)}
    codes, distinct = pd.factorize(waves)
    if (codes < 0).any() or any(wave not in position for wave in distinct):
        return waves.map(position)
    order = np.array([position[wave] for wave in distinct], dtype=np.int64)
    return pd.Series(order[codes], index=waves.index, name=waves.name)


def analysis_data(study: Study, responses: pd.DataFrame) -> AnalysisData:
    """Recode items, score constructs and build one summary index per outcome family."""
    instrument = study.resolved_instrument()
    messages: list[tuple[str, str]] = []
    # Under copy-on-write (pandas 3) a shallow copy shares the columns until either frame
    # writes to them, so the caller's frame is never changed and a caller that drops it
    # frees its memory; older pandas copies.
    frame = responses.copy(deep=not COPY_ON_WRITE)
    wave_names = study.wave_names
    # The distinct waves once, by hashing the column: a Python set of the column, built
    # anew for each wave name, iterated every row in Python (0.9 s of 1.2 s at 100,000).
    stored_waves = set(frame["wave"].dropna().unique().tolist())
    present_waves = [wave for wave in wave_names if wave in stored_waves]
    if not present_waves:
        raise EstimationError(
            f"estimate_study: none of the stored waves {sorted(stored_waves)!r} is a wave "
            f"of the study file ({wave_names!r}). Fix the wave names in the study file."
        )
    baseline_wave = wave_names[0]
    frame["wave_order"] = _wave_order(frame["wave"], wave_names)
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
    # One construct at a time (a score depends on its own items only), so that only one
    # construct's recoded items are held beside the frame at once.
    by_construct: dict[str, list[ItemSpec]] = {}
    for spec_item in specs:
        by_construct.setdefault(spec_item.construct, []).append(spec_item)
    scores: dict[str, pd.Series] = {}
    recoded_columns: dict[str, np.ndarray] = {}
    construct_items: dict[str, list[str]] = {}
    for construct, construct_specs in by_construct.items():
        recoded = recode_items(frame, items=construct_specs, wrong_codes=dont_know)
        scores[construct] = score_constructs(frame, items=construct_specs, wrong_codes=dont_know)[
            construct
        ]
        for spec_item in construct_specs:
            values = recoded[spec_item.name].to_numpy()
            raw = frame[spec_item.name].to_numpy(dtype=np.float64, na_value=np.nan)
            # Most items recode to themselves (positive, no key): the column read is their
            # recoded column, not a second copy of it.
            if np.array_equal(values, raw, equal_nan=True):
                construct_items.setdefault(construct, []).append(spec_item.name)
            else:
                recoded_columns[f"{RECODED_PREFIX}{spec_item.name}"] = values
                construct_items.setdefault(construct, []).append(
                    f"{RECODED_PREFIX}{spec_item.name}"
                )
        del recoded
    available = set(frame.columns) | set(scores)
    outcomes = _outcome_specs(study, available)
    for spec in outcomes:
        if spec.kind == "construct":
            frame[spec.name] = scores[spec.name]
        else:
            frame[spec.name] = pd.to_numeric(frame[spec.name], errors="coerce").astype("float64")
    del scores
    frame = pd.concat([frame, pd.DataFrame(recoded_columns, index=frame.index, copy=False)], axis=1)
    del recoded_columns

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


def items_read(study: Study) -> list[str]:
    """The item columns the estimation reads into its frame, in the instrument's order: the
    scored items, the numeric and select-multiple items (the descriptives table describes
    each), and every item a result table names (:func:`items_used_after_scoring`,
    :func:`items_used_by_descriptive_tables`). Text answers are never read."""
    instrument = study.resolved_instrument()
    used = items_used_after_scoring(study) | items_used_by_descriptive_tables(study)
    return [
        stored
        for item in instrument.items
        for stored in item.stored_names()
        if _scorable(item) or item.is_numeric or item.scale == "select_multiple" or stored in used
    ]


def items_used_by_descriptive_tables(study: Study) -> set[str]:
    """Items the trust, intention-cascade and risk-belief tables read (by domain and scale in
    the instrument), which are computed before :func:`without_unused_items`."""
    instrument = study.resolved_instrument()
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    used: set[str] = set()
    for item in instrument.items:
        domain = domains.get(item.construct_name)
        if domain == "trust" and item.scale == "likert":
            used.add(item.name)
        if domain == "intention" and item.scale in ("binary", "likert", "select_multiple"):
            used.update(item.stored_names())
        if item.true_value is not None and item.scale == "percentage":
            used.add(item.name)
    used.update(study.analysis.trust_gap)
    return used


def items_used_after_scoring(study: Study) -> set[str]:
    """Items the inference tables read from the analysis frame: outcomes that are items,
    the declared balance and propensity covariates, the exposure item, heterogeneity
    dimensions and their outcomes, and the trust sources (trust-domain ratings)."""
    instrument = study.resolved_instrument()
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    outcomes = study.outcomes
    used = {
        *outcomes.primary,
        *(name for members in outcomes.families.values() for name in members),
    }
    used.update(study.analysis.balance_covariates)
    used.update(study.analysis.propensity_covariates)
    for dimension in study.analysis.heterogeneity:
        used.add(dimension.item)
        used.update(dimension.outcomes)
    if study.columns.exposure:
        used.add(study.columns.exposure)
    used.update(
        item.name
        for item in instrument.items
        if domains.get(item.construct_name) == "trust" and item.scale == "likert"
    )
    return used


def without_unused_items(study: Study, data: AnalysisData) -> AnalysisData:
    """``data`` without the item columns and recoded items no table reads after the
    descriptive ones (:func:`items_used_after_scoring` keeps the rest); outcome columns and
    role columns stay. Each column is its own array, so dropping frees its memory."""
    instrument = study.resolved_instrument()
    kept = items_used_after_scoring(study) | {spec.name for spec in data.outcomes}
    unused = [
        stored
        for item in instrument.items
        for stored in item.stored_names()
        if stored not in kept and stored in data.responses.columns
    ]
    unused += [name for name in data.responses.columns if str(name).startswith(RECODED_PREFIX)]
    return replace(data, responses=data.responses.drop(columns=unused), construct_items={})
