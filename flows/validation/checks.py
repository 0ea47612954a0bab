"""Field-quality checks computed once per wave, vectorised, as 0/1 flag columns with reasons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from flows.instrument import Item
from flows.study import Study

INTERVIEW_DATE_COLUMN = "interview_date"
DURATION_COLUMN = "duration_minutes"

# check name -> derived flag column validated by the field_quality suite
FIELD_QUALITY_FLAGS: dict[str, str] = {
    "duplicate_submission": "flag_duplicate_submission",
    "speeder": "flag_speeder",
    "straightliner": "flag_straightliner",
    "contradiction": "flag_contradiction",
    "enumerator_outlier": "flag_enumerator_outlier",
}
CONTRADICTION_FLAG = FIELD_QUALITY_FLAGS["contradiction"]
ENUMERATOR_FLAG = FIELD_QUALITY_FLAGS["enumerator_outlier"]
# role -> derived flag column validated by the cross_wave suite
CROSS_WAVE_FLAGS: dict[str, str] = {
    "arm": "flag_arm_changed",
    "cluster": "flag_cluster_changed",
    "stratum": "flag_stratum_changed",
}
FOUND_AT_BASELINE_COLUMN = "found_at_baseline"

ENUMERATOR_COLUMNS: tuple[str, ...] = (
    "enumerator",
    "n_interviews",
    "median_duration_minutes",
    "mean_duration_minutes",
    "duration_z",
    "dont_know_rate",
    "refused_rate",
    "answer_variance",
    "answer_variance_z",
    "near_duplicate_share",
    "near_duplicate_z",
)
ITEM_RATE_COLUMNS: tuple[str, ...] = ("item", "n_answers", "dont_know_rate", "refused_rate")
FOLLOW_UP_COLUMNS: tuple[str, ...] = (
    "arm",
    "n_baseline",
    "n_followed",
    "follow_up_rate",
    "follow_up_gap",
)

# Float sentinel for a missing answer where answers are hashed or compared, so NaN compares
# equal to NaN.
_MISSING = -1.0e300
# A robust z-score divides by 1.4826 x MAD; the floors keep a metric on which almost every
# enumerator is identical (e.g. no near-duplicates at all) from turning noise into outliers.
_MAD_SCALE = 1.4826
# Rows compared with each row of the same block hash when looking for near-duplicates.
_WINDOW = 4


def item_special_codes(study: Study, item: Item) -> list[float]:
    """Every code declared as missing for ``item`` (instrument and study-wide), sorted."""
    codes = study.special_codes()
    return sorted({code for name in item.special_codes for code in codes.get(name, [])})


def battery_items(study: Study, battery: str) -> list[str]:
    """The likert item columns of a battery named by construct or by domain."""
    instrument = study.resolved_instrument()
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    return [
        item.name
        for item in instrument.items
        if item.scale == "likert"
        and (item.construct_name == battery or domains.get(item.construct_name) == battery)
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldQuality:
    """Derived columns of one wave, the reasons of flagged rows and the per-group tables."""

    derived: pd.DataFrame
    reasons: dict[str, pd.Series]
    enumerators: pd.DataFrame
    item_rates: pd.DataFrame
    conflicting_respondents: pd.DataFrame


def _codes_of(study: Study, reason: str) -> list[float]:
    return list(study.special_codes().get(reason, []))


def _with_sentinel(values: np.ndarray) -> np.ndarray:
    """An item's answers with every missing one as ``_MISSING`` (one bit pattern for all)."""
    return np.where(np.isnan(values), _MISSING, values)


def _row_hash(columns: list[np.ndarray], n_rows: int) -> np.ndarray:
    """A 64-bit hash of each row over the given item columns (float bits, polynomial mix)."""
    hashed = np.full(n_rows, np.uint64(1469598103934665603), dtype=np.uint64)
    prime = np.uint64(1099511628211)
    with np.errstate(over="ignore"):
        for column in columns:
            hashed = (hashed ^ _with_sentinel(column).view(np.uint64)) * prime
            hashed ^= hashed >> np.uint64(29)
    return hashed


def _answered_agreement(
    columns: list[np.ndarray], first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair of rows: the share of equal answers among items answered in both, and how
    many items that is (an item left blank in either row says nothing about copying)."""
    compared = np.zeros(len(first), dtype=np.int64)
    equal = np.zeros(len(first), dtype=np.int64)
    for column in columns:
        one, other = column[first], column[second]
        both = ~np.isnan(one) & ~np.isnan(other)
        compared += both
        equal += (one == other) & both
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(compared > 0, equal / np.maximum(compared, 1), 0.0)
    return share, compared


def _near_duplicate_pairs(
    columns: list[np.ndarray], n_rows: int, similarity: float, minimum_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (earlier, later) of rows agreeing on at least ``similarity`` of the items both
    answered, with at least ``minimum_items`` such items.

    Candidates come from a pigeonhole search: two rows that differ in at most d columns agree
    exactly on at least one of d + 1 disjoint blocks of columns, so only rows sharing a block
    hash are compared: each row with the next ``_WINDOW`` rows of its hash group (in row
    order), vectorised. A blank counts as a value in the search, so two rows that differ
    mostly in which items they left blank are not compared (copies rarely do). ``columns``
    are the item columns (NaN for a blank), read one at a time.
    """
    n_columns = len(columns)
    empty = np.empty(0, dtype=np.int64)
    if n_rows < 2 or n_columns == 0 or n_columns < minimum_items:
        return empty, empty
    allowed = int(np.floor((1.0 - similarity) * n_columns + 1e-9))
    n_blocks = min(allowed + 1, n_columns)
    earlier: list[np.ndarray] = []
    later: list[np.ndarray] = []
    for block in range(n_blocks):
        hashed = _row_hash(columns[block::n_blocks], n_rows)
        order = np.argsort(hashed, kind="stable")
        sorted_hash = hashed[order]
        for offset in range(1, _WINDOW + 1):
            same = sorted_hash[offset:] == sorted_hash[:-offset]
            if not same.any():
                break
            first = order[:-offset][same]
            second = order[offset:][same]
            share, compared = _answered_agreement(columns, first, second)
            agree = (share >= similarity) & (compared >= minimum_items)
            earlier.append(np.minimum(first, second)[agree])
            later.append(np.maximum(first, second)[agree])
    if not earlier:
        return empty, empty
    pairs = pd.DataFrame({"earlier": np.concatenate(earlier), "later": np.concatenate(later)})
    pairs = pairs.drop_duplicates().sort_values(["later", "earlier"], kind="stable")
    return pairs["earlier"].to_numpy(), pairs["later"].to_numpy()


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a label column (categorical codes when it already is one)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy()
    return pd.factorize(values)[0]


def _labels(values: pd.Series) -> pd.Series:
    """A label column as a categorical with missing labels shown as '(none)'."""
    labels = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    if labels.isna().any():
        labels = labels.cat.add_categories(["(none)"]).fillna("(none)")
    return labels


def _equals_any(values: np.ndarray, codes: list[float]) -> np.ndarray:
    """``np.isin`` for a few codes, without its sort of all the values."""
    found = np.zeros(values.shape, dtype=bool)
    for code in codes:
        found |= values == code
    return found


def _robust_z(values: pd.Series, floor: float) -> pd.Series:
    finite = values.dropna()
    if finite.empty:
        return pd.Series(np.nan, index=values.index)
    median = float(finite.median())
    scale = _MAD_SCALE * float((finite - median).abs().median())
    return (values - median) / max(scale, floor)


def field_quality(coded: pd.DataFrame, study: Study, items: list[str]) -> FieldQuality:
    """Compute every per-row field-quality flag of a coded wave, and the per-group tables."""
    quality = study.quality
    n_rows = len(coded)
    row_numbers = coded["row_number"].to_numpy()
    derived = pd.DataFrame(index=coded.index)
    reasons: dict[str, pd.Series] = {}

    def flag(column: str, mask: np.ndarray, texts: pd.Series | np.ndarray | list[str]) -> None:
        derived[column] = mask.astype(np.int8)
        reasons[column] = pd.Series(np.asarray(texts, dtype=object), index=coded.index[mask])

    # One item at a time, never a matrix of all of them: the checks below read each column
    # and keep per-row counts (a matrix of 72 items of a 1,000,000-row wave is 0.6 GB, and
    # every mask over it another 72 MB).
    columns = [coded[name].to_numpy(dtype=np.float64, na_value=np.nan) for name in items]

    # -- interview date and duration ----------------------------------------------------
    if "interview_start" in coded.columns:
        start = pd.to_datetime(coded["interview_start"])
        derived[INTERVIEW_DATE_COLUMN] = (
            start.dt.year * 10000 + start.dt.month * 100 + start.dt.day
        ).astype("float64")
    duration = pd.Series(np.nan, index=coded.index)
    if "interview_start" in coded.columns and "interview_end" in coded.columns:
        duration = (
            pd.to_datetime(coded["interview_end"]) - pd.to_datetime(coded["interview_start"])
        ).dt.total_seconds() / 60.0
    derived[DURATION_COLUMN] = duration.astype("float64")

    # -- duplicates ---------------------------------------------------------------------
    duplicate = np.zeros(n_rows, dtype=bool)
    duplicate_text = np.full(n_rows, "", dtype=object)
    conflicts = pd.DataFrame({"respondent": [], "row_numbers": []})
    if "submission" in coded.columns:
        submissions = coded["submission"]
        repeated = (submissions.duplicated(keep="first") & submissions.notna()).to_numpy()
        first_row = coded["row_number"].groupby(_codes(submissions), sort=False).transform("first")
        duplicate |= repeated
        duplicate_text[repeated] = [
            f"submission id repeated (first in row {int(r)})" for r in first_row[repeated]
        ]
    respondents = coded["respondent"]
    repeated = (respondents.duplicated(keep="first") & respondents.notna()).to_numpy()
    if repeated.any():
        position = pd.Series(np.arange(n_rows), index=coded.index)
        first_position = position.groupby(_codes(respondents), sort=False).transform("first")
        later = np.flatnonzero(repeated)
        first = first_position.to_numpy()[later]
        agree = np.ones(len(later))
        if items:
            equal = np.zeros(len(later), dtype=np.int64)
            for column in columns:
                equal += _with_sentinel(column[later]) == _with_sentinel(column[first])
            agree = equal / len(items)
        same = agree >= quality.duplicate_similarity
        duplicate[later[same]] = True
        for index, earlier in zip(later[same], first[same], strict=True):
            if not duplicate_text[index]:
                duplicate_text[index] = (
                    f"respondent id repeated with the same answers (first in row "
                    f"{int(row_numbers[earlier])})"
                )
        if (~same).any():
            conflicting = respondents.iloc[later[~same]].astype(object).to_numpy()
            rows = coded.loc[respondents.isin(conflicting), ["respondent", "row_number"]]
            grouped = rows.groupby("respondent", sort=True)["row_number"]
            conflicts = pd.DataFrame(
                {
                    "respondent": [str(name) for name, _ in grouped],
                    "row_numbers": [sorted(int(v) for v in values) for _, values in grouped],
                }
            )
    if quality.near_duplicates:
        earlier_rows, later_rows = _near_duplicate_pairs(
            columns, n_rows, quality.duplicate_similarity, quality.duplicate_minimum_items
        )
    else:
        earlier_rows = later_rows = np.empty(0, dtype=np.int64)
    near_duplicate = np.zeros(n_rows, dtype=bool)
    near_duplicate[earlier_rows] = True
    near_duplicate[later_rows] = True
    fresh = ~duplicate[later_rows]
    for index, earlier in zip(later_rows[fresh], earlier_rows[fresh], strict=True):
        if not duplicate_text[index]:
            duplicate_text[index] = f"answers near-identical to row {int(row_numbers[earlier])}"
    duplicate[later_rows] = True
    flag(FIELD_QUALITY_FLAGS["duplicate_submission"], duplicate, duplicate_text[duplicate])

    # -- speeders -------------------------------------------------------------------------
    median_duration = float(duration[duration > 0].median()) if (duration > 0).any() else np.nan
    cutoff = quality.minimum_duration_minutes
    if not np.isnan(median_duration):
        cutoff = max(cutoff, quality.speeder_fraction_of_median * median_duration)
    speeder = (duration < cutoff).to_numpy(dtype=bool, na_value=False)
    flag(
        FIELD_QUALITY_FLAGS["speeder"],
        speeder,
        [
            f"{minutes:.1f} minutes (threshold {cutoff:.1f}; median {median_duration:.1f})"
            for minutes in duration.to_numpy()[speeder]
        ],
    )

    # -- straight-lining ------------------------------------------------------------------
    straight = np.zeros(n_rows, dtype=bool)
    straight_text = np.full(n_rows, "", dtype=object)
    instrument = study.resolved_instrument()
    for battery in quality.straightlining_batteries:
        battery_columns = [c for c in battery_items(study, battery) if c in coded.columns]
        if len(battery_columns) < quality.straightlining_minimum_items:
            continue
        special = sorted(
            {
                c
                for name in battery_columns
                for c in item_special_codes(study, instrument.item(name))
            }
        )
        low = np.full(n_rows, np.inf)
        high = np.full(n_rows, -np.inf)
        n_answered = np.zeros(n_rows, dtype=np.int64)
        for name in battery_columns:
            values = coded[name].to_numpy(dtype=np.float64, na_value=np.nan)
            answered = ~np.isnan(values) & ~np.isin(values, special)
            np.minimum(low, np.where(answered, values, np.inf), out=low)
            np.maximum(high, np.where(answered, values, -np.inf), out=high)
            n_answered += answered
        hit = (n_answered >= quality.straightlining_minimum_items) & (low == high)
        new = hit & ~straight
        straight_text[new] = [
            f"the same answer {value:g} to all {int(n)} answered items of battery {battery!r}"
            for value, n in zip(low[new], n_answered[new], strict=True)
        ]
        straight |= hit
    flag(FIELD_QUALITY_FLAGS["straightliner"], straight, straight_text[straight])

    # -- contradictions -------------------------------------------------------------------
    contradiction = np.zeros(n_rows, dtype=bool)
    contradiction_text = np.full(n_rows, "", dtype=object)
    for rule in quality.contradictions:
        if rule.item not in coded.columns or rule.other_item not in coded.columns:
            continue
        hit = (coded[rule.item] == rule.equals) & coded[rule.other_item].isin(rule.other_values)
        hit_array = hit.to_numpy(dtype=bool, na_value=False)
        for index in np.flatnonzero(hit_array):
            separator = "; " if contradiction_text[index] else ""
            contradiction_text[index] += separator + rule.describe()
        contradiction |= hit_array
    flag(CONTRADICTION_FLAG, contradiction, contradiction_text[contradiction])

    # -- item rates ----------------------------------------------------------------------
    # Counted per item (the item table) and per row (the enumerator table), one item at a time.
    dont_know_codes = _codes_of(study, "dont_know")
    refused_codes = _codes_of(study, "refused")
    dont_know_by_row = np.zeros(n_rows, dtype=np.int64)
    refused_by_row = np.zeros(n_rows, dtype=np.int64)
    answered_by_row = np.zeros(n_rows, dtype=np.int64)
    n_answers = np.zeros(len(items), dtype=np.int64)
    n_dont_know = np.zeros(len(items), dtype=np.int64)
    n_refused = np.zeros(len(items), dtype=np.int64)
    for index, column in enumerate(columns):
        for found, by_row, by_item in (
            (_equals_any(column, dont_know_codes), dont_know_by_row, n_dont_know),
            (_equals_any(column, refused_codes), refused_by_row, n_refused),
            (~np.isnan(column), answered_by_row, n_answers),
        ):
            by_row += found
            by_item[index] = np.count_nonzero(found)
    with np.errstate(invalid="ignore", divide="ignore"):
        item_rates = pd.DataFrame(
            {
                "item": items,
                "n_answers": n_answers,
                "dont_know_rate": np.where(n_answers > 0, n_dont_know / n_answers, 0.0),
                "refused_rate": np.where(n_answers > 0, n_refused / n_answers, 0.0),
            },
            columns=list(ITEM_RATE_COLUMNS),
        )

    # -- enumerators ----------------------------------------------------------------------
    enumerators = pd.DataFrame(columns=list(ENUMERATOR_COLUMNS))
    if "enumerator" in coded.columns:
        enumerators = _enumerator_table(
            coded,
            study,
            items,
            columns=columns,
            duration=duration,
            dont_know=dont_know_by_row,
            refused=refused_by_row,
            answered=answered_by_row,
            near_duplicate=near_duplicate,
        )
    derived[ENUMERATOR_FLAG] = np.zeros(n_rows, dtype=np.int8)
    reasons[ENUMERATOR_FLAG] = pd.Series([], index=coded.index[:0], dtype=object)
    return FieldQuality(
        derived=derived,
        reasons=reasons,
        enumerators=enumerators,
        item_rates=item_rates,
        conflicting_respondents=conflicts,
    )


def _enumerator_table(
    coded: pd.DataFrame,
    study: Study,
    items: list[str],
    *,
    columns: list[np.ndarray],
    duration: pd.Series,
    dont_know: np.ndarray,
    refused: np.ndarray,
    answered: np.ndarray,
    near_duplicate: np.ndarray,
) -> pd.DataFrame:
    instrument = study.resolved_instrument()
    enumerator = _labels(coded["enumerator"])
    per_row = pd.DataFrame(
        {
            "enumerator": enumerator.array,
            "duration": duration.to_numpy(),
            "dont_know": dont_know,
            "refused": refused,
            "answered": answered,
            "near_duplicate": near_duplicate.astype(np.float64),
        }
    )
    grouped = per_row.groupby("enumerator", sort=True)
    table = pd.DataFrame(
        {
            "n_interviews": grouped.size(),
            "median_duration_minutes": grouped["duration"].median(),
            "mean_duration_minutes": grouped["duration"].mean(),
            "dont_know_rate": grouped["dont_know"].sum() / grouped["answered"].sum().clip(lower=1),
            "refused_rate": grouped["refused"].sum() / grouped["answered"].sum().clip(lower=1),
            "near_duplicate_share": grouped["near_duplicate"].mean(),
        }
    )
    # Within-enumerator variance of substantive answers on numeric scales, relative to the
    # wave's variance of the same item, averaged over items: fabricated interviews vary less.
    spread_items = [
        name
        for name in items
        if name in instrument.item_names and instrument.item(name).scale in ("likert", "percentage")
    ]
    if spread_items:
        special = sorted(
            {c for name in spread_items for c in item_special_codes(study, instrument.item(name))}
        )
        overall: dict[str, float] = {}
        within: dict[str, pd.Series] = {}
        for name in spread_items:
            values = columns[items.index(name)].copy()
            values[np.isin(values, special)] = np.nan
            answers = pd.Series(values, index=enumerator.index, copy=False)
            overall[name] = answers.var()
            within[name] = answers.groupby(enumerator, sort=True).var()
        # Enumerators by items in the layout a groupby of all items at once gives (one
        # enumerator's items side by side), so the mean over items adds in the same order.
        by_enumerator = pd.DataFrame(
            np.column_stack([within[name].to_numpy() for name in spread_items]),
            index=within[spread_items[0]].index,
            columns=spread_items,
            copy=False,
        )
        spread = pd.Series(overall)
        relative = by_enumerator.div(spread.where(spread > 0))
        table["answer_variance"] = relative.mean(axis=1, skipna=True)
    else:
        table["answer_variance"] = np.nan
    eligible = table["n_interviews"] >= study.quality.enumerator_minimum_interviews
    compared = table[eligible]
    table["duration_z"] = np.nan
    table["answer_variance_z"] = np.nan
    table["near_duplicate_z"] = np.nan
    if len(compared) >= 3:
        median_duration = float(compared["mean_duration_minutes"].median())
        table.loc[eligible, "duration_z"] = _robust_z(
            compared["mean_duration_minutes"], floor=0.05 * abs(median_duration) or 1.0
        )
        table.loc[eligible, "answer_variance_z"] = _robust_z(
            compared["answer_variance"], floor=0.05
        )
        table.loc[eligible, "near_duplicate_z"] = _robust_z(
            compared["near_duplicate_share"], floor=0.02
        )
    table = table.reset_index()
    table["enumerator"] = table["enumerator"].astype(object).astype(str)
    return table[list(ENUMERATOR_COLUMNS)]


def enumerator_outliers(
    coded: pd.DataFrame, enumerators: pd.DataFrame, failing: dict[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Every interview of an outlier enumerator: the 0/1 flag and the reason of each row.

    ``failing`` maps enumerator -> the reason text (from the enumerators suite's row checks).
    """
    if not failing or "enumerator" not in coded.columns:
        return np.zeros(len(coded), dtype=np.int8), np.empty(0, dtype=object)
    enumerator = _labels(coded["enumerator"])
    mask = enumerator.isin(list(failing)).to_numpy()
    texts = enumerator[mask].astype(object).map(failing).to_numpy(dtype=object)
    return mask.astype(np.int8), texts


def _joint_codes(now: pd.Series, before: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of two columns in one code space, equal where the labels' text is equal
    (missing labels one code of their own); computed in C, never as Python strings."""
    as_text = [
        values if pd.api.types.is_string_dtype(values.dtype) else values.astype("str")
        for values in (now, before)
    ]
    codes, _ = pd.factorize(pd.concat(as_text, ignore_index=True), use_na_sentinel=False)
    return codes[: len(now)], codes[len(now) :]


def _missing_code(values: pd.Series, codes: np.ndarray) -> np.ndarray:
    """True where the label behind a code is missing."""
    return values.isna().to_numpy(dtype=bool) if len(values) else np.zeros(len(codes), bool)


def cross_wave(
    coded: pd.DataFrame, study: Study, wave: str, earlier_waves: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, pd.Series], pd.DataFrame]:
    """Compare a later wave with the earlier ones: changed roles, baseline share, follow-up.

    Returns the derived columns, the reasons of flagged rows and the follow-up table by arm.
    Respondents and labels are matched as integer codes of one code space (the lookup of a
    wave of 1,000,000 against the earlier waves holds arrays of integers, not strings).
    """
    derived = pd.DataFrame(index=coded.index)
    reasons: dict[str, pd.Series] = {}
    position = pd.Categorical(earlier_waves["wave"], categories=study.wave_names).codes
    before_mask = (position >= 0) & (position < study.wave_names.index(wave))
    earlier = earlier_waves[before_mask]
    earlier_position = position[before_mask]
    now_id, before_id = _joint_codes(coded["respondent"], earlier["respondent"])
    # The latest earlier interview of each respondent: the last in wave, then row order.
    order = np.lexsort((earlier["row_number"].to_numpy(), earlier_position))
    latest_of = np.full(int(max(now_id.max(initial=-1), before_id.max(initial=-1))) + 1, -1)
    if len(order):
        reversed_ids = before_id[order][::-1]
        ids, first_in_reversed = np.unique(reversed_ids, return_index=True)
        latest_of[ids] = order[::-1][first_in_reversed]
    latest = latest_of[now_id] if len(now_id) else np.empty(0, dtype=np.int64)
    found = latest >= 0
    wave_labels = np.asarray(study.wave_names, dtype=object)
    for role, column in CROSS_WAVE_FLAGS.items():
        if role not in coded.columns or role not in earlier.columns:
            continue
        now_code, before_code = _joint_codes(coded[role], earlier[role])
        now_missing = _missing_code(coded[role], now_code)
        before_missing = _missing_code(earlier[role], before_code)
        matched = np.flatnonzero(found)
        sources = latest[matched]
        changed_rows = matched[
            ~before_missing[sources]
            & ~now_missing[matched]
            & (before_code[sources] != now_code[matched])
        ]
        mask = np.zeros(len(coded), dtype=bool)
        mask[changed_rows] = True
        derived[column] = mask.astype(np.int8)
        sources = latest[changed_rows]
        before_values = earlier[role].iloc[sources].astype(object).to_numpy()
        now_values = coded[role].iloc[changed_rows].astype(object).to_numpy()
        waves_before = wave_labels[earlier_position[sources]]
        reasons[column] = pd.Series(
            [
                f"{role} {str(b)!r} in wave {w!r}, {str(a)!r} now"
                for b, w, a in zip(before_values, waves_before, now_values, strict=True)
            ],
            index=coded.index[mask],
            dtype=object,
        )
    at_baseline = earlier_position == 0
    baseline_ids = before_id[at_baseline]
    derived[FOUND_AT_BASELINE_COLUMN] = np.isin(now_id, baseline_ids).astype("float64")
    follow_up = pd.DataFrame(columns=list(FOLLOW_UP_COLUMNS))
    baseline = earlier[at_baseline]
    if "arm" in baseline.columns and not baseline.empty:
        _, first_rows = np.unique(baseline_ids, return_index=True)
        first_rows.sort()
        followed = np.isin(baseline_ids[first_rows], now_id)
        first = pd.DataFrame({"arm": baseline["arm"].iloc[first_rows].array, "followed": followed})
        grouped = first.groupby("arm", sort=True)["followed"]
        follow_up = pd.DataFrame(
            {"n_baseline": grouped.size(), "n_followed": grouped.sum().astype(np.int64)}
        )
        follow_up["follow_up_rate"] = follow_up["n_followed"] / follow_up["n_baseline"]
        follow_up["follow_up_gap"] = follow_up["follow_up_rate"].max() - follow_up["follow_up_rate"]
        follow_up = follow_up.reset_index()[list(FOLLOW_UP_COLUMNS)]
    return derived, reasons, follow_up
