"""The pipeline's stages done with the plain libraries, for bench/scale.py's ratio.

Run one stage as its own process: ``python bench/plain_stages.py STAGE STUDY_FILE OUTDIR``,
STAGE one of ``ingest``, ``validate``, ``estimate``, ``report`` (each reads what the stage
before it wrote in OUTDIR). Only pandas, numpy, pyarrow, statsmodels and hashlib do the
work; from trustshift only the study file is read (``flows.study.load_study``: roles, item
bounds, codes and quality settings), and the validation rules are the suite files of the
bundled ``expectations/`` folder, read as JSON.

- ``ingest``: every column of each wave's CSV, read in chunks of 100,000 rows; identifying
  columns (the study's ``pii``) dropped, respondent ids HMAC-SHA256 pseudonymised, each item
  coded (blank, special codes, out of range) and written as the long answers (one row per
  interview and item) and the interviews to Parquet.
- ``validate``: every row-level expectation of the suites in pandas (item codes and ranges,
  required roles, duplicate ids, consent, age, fieldwork dates, the field-quality flags:
  duplicate and near-duplicate submissions, speeders, straight-liners, contradictions,
  enumerator outliers, and the panel checks of later waves: arm, cluster or stratum
  changed), giving each wave's quarantine mask, written as Parquet.
- ``estimate``: construct scores and family summary indices as the pipeline builds them,
  then one statsmodels WLS per outcome and later wave (ANCOVA with the baseline outcome,
  missing-indicator, stratum fixed effects, CR1 errors clustered on the community): the
  pipeline's main estimator, the same outcomes and waves.
- ``report``: the estimates as an HTML table.

What the pipeline does that this does not: randomization inference, the wild cluster
bootstrap, CR2 errors, difference-in-differences and the ordinal/binary robustness models,
Lee bounds and attrition tables, descriptive, balance and heterogeneity tables, q-values,
Great Expectations and its Data Docs, the warehouse (DuckDB transactions, raw archive,
checksums, run records, locks) and the report's plots and text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHUNK_ROWS = 100_000
# A fixed key: the bench measures the work, not key management.
BENCH_KEY = b"plain-library-bench-key"
MISSING = -1.0e300
NOT_ANSWERED, OUT_OF_RANGE = "not_answered", "out_of_range"
ROLES = ("respondent", "submission", "cluster", "stratum", "arm", "weight", "enumerator")


def load(study_file: str) -> Any:
    from flows.study import load_study

    return load_study(study_file)


def item_bounds(study: Any) -> list[tuple[str, Any]]:
    """(stored column, item) of every item of the instrument, in the instrument's order."""
    instrument = study.resolved_instrument()
    return [(name, item) for item in instrument.items for name in item.stored_names()]


# -- ingest -----------------------------------------------------------------------------------


def ingest(study: Any, out: Path, *, chunk_rows: int = CHUNK_ROWS) -> None:
    columns = study.columns
    role_source = {
        "respondent": columns.respondent,
        "submission": columns.submission,
        "cluster": columns.cluster,
        "stratum": columns.stratum,
        "arm": columns.arm.column,
        "weight": columns.weight,
        "enumerator": columns.enumerator,
        "interview_start": columns.interview_start,
        "interview_end": columns.interview_end,
        "consent": columns.consent,
    }
    specials: dict[float, str] = {
        float(code): reason for reason, codes in study.special_codes().items() for code in codes
    }
    items = item_bounds(study)
    reason_names = list(dict.fromkeys([NOT_ANSWERED, *specials.values(), OUT_OF_RANGE]))
    cache: dict[str, str] = {}

    def pseudonym(value: object) -> object:
        if not isinstance(value, str):
            return None
        if value not in cache:
            cache[value] = hmac.new(BENCH_KEY, value.encode(), hashlib.sha256).hexdigest()
        return cache[value]

    for wave in study.wave_names:
        source = study.root / study.locations.inbox / f"{wave}.csv"
        target = out / wave
        target.mkdir(parents=True, exist_ok=True)
        answer_writer = interview_writer = None
        first_row = 1
        for chunk in pd.read_csv(source, chunksize=chunk_rows, dtype_backend="pyarrow"):
            # A chunk's index continues the file's: reset it, or its columns would be
            # aligned by label (missing from the second chunk on) when put beside new ones.
            chunk = chunk.drop(columns=[c for c in study.pii if c in chunk.columns])
            chunk = chunk.reset_index(drop=True)
            n_rows = len(chunk)
            rows = np.arange(first_row, first_row + n_rows, dtype=np.int64)
            first_row += n_rows
            interviews = pd.DataFrame({"row_number": rows})
            for role, name in role_source.items():
                if name is None or name not in chunk.columns:
                    continue
                values = chunk[name]
                if role in ("interview_start", "interview_end"):
                    interviews[role] = pd.to_datetime(values.astype(str), errors="coerce")
                elif role == "weight":
                    interviews[role] = pd.to_numeric(values, errors="coerce").astype(float)
                elif role == "consent":
                    text = values.astype(str)
                    consent = (text == str(columns.consent_value)).astype("Int8")
                    interviews[role] = consent.mask(values.isna())
                else:
                    interviews[role] = values.astype("string").to_numpy()
            interviews["respondent"] = interviews["respondent"].map(pseudonym)
            interviews["treated"] = (
                interviews["arm"].isin(columns.arm.treatment).astype("Int8").to_numpy()
            )
            present = [(name, item) for name, item in items if name in chunk.columns]
            codes = np.column_stack(
                [pd.to_numeric(chunk[name], errors="coerce").to_numpy(float) for name, _ in present]
            )
            # Reasons as small integer codes (-1: answered) into a dictionary of names.
            reason = np.full(codes.shape, -1, dtype=np.int8)
            reason[np.isnan(codes)] = reason_names.index(NOT_ANSWERED)
            for code, why in specials.items():
                reason[codes == code] = reason_names.index(why)
            answered = reason < 0
            for j, (_, item) in enumerate(present):
                low, high = item.bounds
                outside = np.zeros(n_rows, dtype=bool)
                if low is not None:
                    outside |= codes[:, j] < low
                if high is not None:
                    outside |= codes[:, j] > high
                allowed = item.valid_codes
                if allowed is not None:
                    outside |= ~np.isin(codes[:, j], list(allowed))
                reason[:, j][answered[:, j] & outside] = reason_names.index(OUT_OF_RANGE)
            flat_reason = reason.reshape(-1)
            flat_codes = codes.reshape(-1)
            has_reason = flat_reason >= 0
            answers = pa.table(
                {
                    "row_number": np.repeat(rows, len(present)),
                    "item": pa.DictionaryArray.from_arrays(
                        pa.array(np.tile(np.arange(len(present), dtype=np.int32), n_rows)),
                        pa.array([name for name, _ in present]),
                    ),
                    "value": pa.array(flat_codes, mask=has_reason),
                    "answered_code": pa.array(flat_codes, mask=np.isnan(flat_codes)),
                    "missing_reason": pa.DictionaryArray.from_arrays(
                        pa.array(flat_reason, mask=~has_reason), pa.array(reason_names)
                    ),
                }
            )
            interview_table = pa.Table.from_pandas(interviews, preserve_index=False)
            if answer_writer is None:
                answer_writer = pq.ParquetWriter(target / "answers.parquet", answers.schema)
                interview_writer = pq.ParquetWriter(
                    target / "interviews.parquet", interview_table.schema
                )
            answer_writer.write_table(answers)
            assert interview_writer is not None
            interview_writer.write_table(interview_table)
        if answer_writer is not None and interview_writer is not None:
            answer_writer.close()
            interview_writer.close()


def read_wave(
    out: Path, wave: str, column: str, items: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A wave's interviews and its items (all, or ``items``) as a wide frame of ``column``.

    The long answers are written interview by interview, every item in the same order, so a
    reshape of each row group gives the wide block (no pivot).
    """
    interviews = pq.read_table(out / wave / "interviews.parquet").to_pandas()
    parts = []
    answers = pq.ParquetFile(out / wave / "answers.parquet")
    chosen: list[str] = []
    pending = np.empty(0)
    for group in range(answers.num_row_groups):
        table = answers.read_row_group(group, columns=["item", column])
        names = table.column("item").combine_chunks().dictionary.to_pylist()
        chosen = names if items is None else [name for name in names if name in set(items)]
        positions = [names.index(name) for name in chosen]
        values = table.column(column).to_numpy(zero_copy_only=False).astype(float)
        # A row group need not end at an interview's last item: carry the rest over.
        values = np.concatenate([pending, values]) if len(pending) else values
        complete = len(values) // len(names) * len(names)
        parts.append(values[:complete].reshape(-1, len(names))[:, positions])
        pending = values[complete:]
    wide = pd.DataFrame(np.vstack(parts), columns=chosen)
    return interviews, wide


# -- validate ---------------------------------------------------------------------------------


def load_suites(study: Any) -> list[dict[str, Any]]:
    folder = ROOT / "expectations"
    suites = [json.loads(path.read_text()) for path in sorted(folder.glob(f"{study.id}_*.json"))]
    if not suites:
        raise SystemExit(f"plain validate: no suite files {study.id}_*.json in {folder}")
    return suites


def robust_z(values: pd.Series, floor: float) -> pd.Series:
    finite = values.dropna()
    if finite.empty:
        return pd.Series(np.nan, index=values.index)
    median = float(finite.median())
    scale = 1.4826 * float((finite - median).abs().median())
    return (values - median) / max(scale, floor)


def near_duplicates(matrix: np.ndarray, similarity: float, minimum: int) -> np.ndarray:
    """Rows agreeing with another on ``similarity`` of the items both answered: candidates
    share one of d + 1 column blocks exactly (pigeonhole), compared with the next 4 rows."""
    n_rows, n_columns = matrix.shape
    flagged = np.zeros(n_rows, dtype=bool)
    later = np.zeros(n_rows, dtype=bool)
    if n_rows < 2 or n_columns < minimum:
        return flagged, later
    blocks = min(math.floor((1 - similarity) * n_columns + 1e-9) + 1, n_columns)
    for block in range(blocks):
        keys = pd.util.hash_pandas_object(
            pd.DataFrame(matrix[:, block::blocks]), index=False
        ).to_numpy()
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        for offset in range(1, 5):
            same = ordered[offset:] == ordered[:-offset]
            if not same.any():
                break
            a, b = order[:-offset][same], order[offset:][same]
            both = (matrix[a] != MISSING) & (matrix[b] != MISSING)
            compared = both.sum(axis=1)
            equal = ((matrix[a] == matrix[b]) & both).sum(axis=1)
            share = np.where(compared > 0, equal / np.maximum(compared, 1), 0.0)
            hit = (share >= similarity) & (compared >= minimum)
            flagged[a[hit]] = flagged[b[hit]] = True
            later[np.maximum(a, b)[hit]] = True
    return flagged, later


def quality_flags(
    interviews: pd.DataFrame, wide: pd.DataFrame, study: Any, wave: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The derived columns the suites check, and the per-enumerator table."""
    quality = study.quality
    instrument = study.resolved_instrument()
    codes = study.special_codes()
    matrix = wide.to_numpy(copy=True)
    matrix[np.isnan(matrix)] = MISSING
    derived = pd.DataFrame(index=wide.index)
    start, end = interviews["interview_start"], interviews["interview_end"]
    derived["interview_date"] = (
        start.dt.year * 10000 + start.dt.month * 100 + start.dt.day
    ).astype(float)
    duration = (end - start).dt.total_seconds() / 60.0
    respondent = interviews["respondent"]
    duplicate = (interviews["submission"].duplicated() & interviews["submission"].notna()).to_numpy(
        dtype=bool, copy=True
    )
    repeated = np.flatnonzero((respondent.duplicated() & respondent.notna()).to_numpy())
    if len(repeated):
        first = pd.Series(np.arange(len(wide))).groupby(respondent.to_numpy()).transform("first")
        earlier = first.to_numpy()[repeated]
        same = (matrix[repeated] == matrix[earlier]).mean(axis=1) >= quality.duplicate_similarity
        duplicate[repeated[same]] = True
    near = np.zeros(len(wide), dtype=bool)
    if quality.near_duplicates:
        near, later = near_duplicates(
            matrix, quality.duplicate_similarity, quality.duplicate_minimum_items
        )
        duplicate |= later
    derived["flag_duplicate_submission"] = duplicate.astype(np.int8)
    median = float(duration[duration > 0].median()) if (duration > 0).any() else np.nan
    cutoff = quality.minimum_duration_minutes
    if not np.isnan(median):
        cutoff = max(cutoff, quality.speeder_fraction_of_median * median)
    derived["flag_speeder"] = (duration < cutoff).fillna(False).astype(np.int8).to_numpy()
    straight = np.zeros(len(wide), dtype=bool)
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    for battery in quality.straightlining_batteries:
        members = [
            item
            for item in instrument.items
            if item.scale == "likert"
            and (item.construct_name == battery or domains.get(item.construct_name) == battery)
            and item.name in wide.columns
        ]
        if len(members) < quality.straightlining_minimum_items:
            continue
        special = [
            c for item in members for name in item.special_codes for c in codes.get(name, [])
        ]
        values = wide[[item.name for item in members]].to_numpy()
        answered = ~np.isnan(values) & ~np.isin(values, special)
        low = np.where(answered, values, np.inf).min(axis=1)
        high = np.where(answered, values, -np.inf).max(axis=1)
        straight |= (answered.sum(axis=1) >= quality.straightlining_minimum_items) & (low == high)
    derived["flag_straightliner"] = straight.astype(np.int8)
    contradiction = np.zeros(len(wide), dtype=bool)
    for rule in quality.contradictions:
        if rule.item in wide.columns and rule.other_item in wide.columns:
            contradiction |= (
                (wide[rule.item] == rule.equals) & wide[rule.other_item].isin(rule.other_values)
            ).to_numpy()
    derived["flag_contradiction"] = contradiction.astype(np.int8)

    enumerator = interviews["enumerator"].fillna("(none)").astype("category")
    dont_know = np.isin(matrix, codes.get("dont_know", [])).sum(axis=1)
    refused = np.isin(matrix, codes.get("refused", [])).sum(axis=1)
    answered_count = (matrix != MISSING).sum(axis=1)
    per_row = pd.DataFrame(
        {
            "enumerator": enumerator,
            "duration": duration.to_numpy(),
            "dont_know": dont_know,
            "refused": refused,
            "answered": answered_count,
            "near": near.astype(float),
        }
    )
    grouped = per_row.groupby("enumerator", observed=True, sort=True)
    table = pd.DataFrame(
        {
            "n_interviews": grouped.size(),
            "mean_duration_minutes": grouped["duration"].mean(),
            "dont_know_rate": grouped["dont_know"].sum() / grouped["answered"].sum().clip(lower=1),
            "refused_rate": grouped["refused"].sum() / grouped["answered"].sum().clip(lower=1),
            "near_duplicate_share": grouped["near"].mean(),
        }
    )
    spread = [
        item
        for item in instrument.items
        if item.scale in ("likert", "percentage") and item.name in wide.columns
    ]
    values = wide[[item.name for item in spread]].copy()
    special = sorted(
        {c for item in spread for name in item.special_codes for c in codes.get(name, [])}
    )
    values = values.mask(values.isin(special))
    overall = values.var()
    within = values.assign(enumerator=enumerator).groupby("enumerator", observed=True).var()
    table["answer_variance"] = within.div(overall.where(overall > 0)).mean(axis=1, skipna=True)
    eligible = table["n_interviews"] >= quality.enumerator_minimum_interviews
    for column in ("duration_z", "answer_variance_z", "near_duplicate_z"):
        table[column] = np.nan
    compared = table[eligible]
    if len(compared) >= 3:
        middle = float(compared["mean_duration_minutes"].median())
        table.loc[eligible, "duration_z"] = robust_z(
            compared["mean_duration_minutes"], 0.05 * abs(middle) or 1.0
        )
        table.loc[eligible, "answer_variance_z"] = robust_z(compared["answer_variance"], 0.05)
        table.loc[eligible, "near_duplicate_z"] = robust_z(compared["near_duplicate_share"], 0.02)
    table = table.reset_index()
    derived["flag_enumerator_outlier"] = np.zeros(len(wide), dtype=np.int8)
    return derived, table


def cross_wave_flags(interviews: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame:
    """A later wave's respondents whose arm, cluster or stratum differs from the latest
    earlier wave they were interviewed in."""
    latest = earlier.drop_duplicates("respondent", keep="last").set_index("respondent")
    derived = pd.DataFrame(index=interviews.index)
    for role in ("arm", "cluster", "stratum"):
        before = interviews["respondent"].map(latest[role])
        now = interviews[role]
        changed = before.notna() & now.notna() & (before.astype(str) != now.astype(str))
        derived[f"flag_{role}_changed"] = changed.to_numpy(dtype=bool).astype(np.int8)
    return derived


def failing(frame: pd.DataFrame, expectation: dict[str, Any]) -> tuple[np.ndarray, bool]:
    """The rows failing one column-map expectation (GX's semantics: nulls and the declared
    missing codes are not checked; ``mostly`` tolerates a share), and whether it is tolerated."""
    kwargs = expectation["kwargs"]
    column = frame[kwargs["column"]]
    kept = ~column.isin(expectation["meta"].get("missing_codes", []))
    present = column.notna() & kept
    kind = expectation["type"]
    if kind == "expect_column_values_to_not_be_null":
        mask, denominator = (column.isna() & kept).to_numpy(bool), int(kept.sum())
        count = int(mask.sum())
    elif kind == "expect_column_values_to_be_unique":
        values = column.where(present)
        mask = (values.duplicated() & present).to_numpy(bool)
        count = int((values.duplicated(keep=False) & present).sum())
        denominator = int(present.sum())
    else:
        if kind == "expect_column_values_to_be_in_set":
            outside = ~column.isin(kwargs["value_set"])
        else:
            outside = pd.Series(False, index=frame.index)
            if kwargs.get("min_value") is not None:
                outside |= (column < kwargs["min_value"]).fillna(False).astype(bool)
            if kwargs.get("max_value") is not None:
                outside |= (column > kwargs["max_value"]).fillna(False).astype(bool)
        mask = (outside & present).to_numpy(bool)
        count, denominator = int(mask.sum()), int(present.sum())
    mostly = kwargs.get("mostly")
    if count == 0:
        return mask, True
    tolerated = mostly is not None and (
        denominator == 0 or (denominator - count) / denominator >= float(mostly)
    )
    return mask, tolerated


ROW_TYPES = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
}


def validate(study: Any, out: Path) -> dict[str, int]:
    """Each wave's quarantine mask from every row-level expectation; the counts by wave."""
    suites = load_suites(study)
    counts: dict[str, int] = {}
    earlier: list[pd.DataFrame] = []
    for position, wave in enumerate(study.wave_names):
        interviews, wide = read_wave(out, wave, "answered_code")
        derived, enumerators = quality_flags(interviews, wide, study, wave)
        chosen = [
            suite
            for suite in suites
            if suite["meta"].get("wave") in (None, wave)
            and (position > 0 or not suite["name"].endswith("_cross_wave"))
            and suite["meta"].get("target") != "arms"
        ]
        outliers: set[str] = set()
        for suite in chosen:
            if suite["meta"]["target"] != "enumerators":
                continue
            for expectation in suite["expectations"]:
                if expectation["meta"]["severity"] == "row":
                    mask, tolerated = failing(enumerators, expectation)
                    if not tolerated:
                        outliers.update(enumerators["enumerator"].astype(str)[mask])
        derived["flag_enumerator_outlier"] = (
            interviews["enumerator"].isin(outliers).to_numpy().astype(np.int8)
        )
        if position > 0:
            derived = derived.join(cross_wave_flags(interviews, pd.concat(earlier)))
        roles = interviews.drop(columns=["row_number"]).assign(wave=wave)
        checked = pd.concat([roles, wide, derived], axis=1)
        quarantined = np.zeros(len(checked), dtype=bool)
        by_check: dict[str, np.ndarray] = {}
        for suite in chosen:
            if suite["meta"]["target"] != "wave":
                continue
            for expectation in suite["expectations"]:
                if (
                    expectation["type"] not in ROW_TYPES
                    or expectation["meta"].get("severity") != "row"
                    or expectation["kwargs"].get("column") not in checked.columns
                ):
                    continue
                mask, tolerated = failing(checked, expectation)
                if not tolerated:
                    quarantined |= mask
                    check = str(expectation["meta"].get("check", expectation["type"]))
                    by_check[check] = by_check.get(check, np.zeros_like(mask)) | mask
        # As the pipeline: a check taking more than the allowed share stops the wave.
        limit = study.quality.maximum_quarantine_share
        for check, mask in by_check.items():
            if mask.mean() > limit:
                raise SystemExit(
                    f"plain validate: check {check!r} would quarantine {mask.mean():.1%} of "
                    f"wave {wave!r}, more than {limit:g}; the wave is stopped."
                )
        pd.DataFrame(
            {"row_number": interviews["row_number"], "quarantined": quarantined}
        ).to_parquet(out / wave / "quarantine.parquet")
        counts[wave] = int(quarantined.sum())
        earlier.append(interviews[["respondent", "arm", "cluster", "stratum"]])
    return counts


# -- estimate ---------------------------------------------------------------------------------


def analysis_frame(study: Any, out: Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The analysable rows of every wave with one column per outcome (items, construct
    scores, family summary indices), and the outcomes in the pipeline's order."""
    instrument = study.resolved_instrument()
    codes = study.special_codes()
    scored_scales = {"likert", "percentage", "binary", "count", "money", "select_multiple"}
    quiz = [item.name for item in instrument.items if item.correct_answer is not None]
    coded_items = [*quiz, *study.outcomes.not_applicable_as_zero]
    declared = {
        *study.outcomes.primary,
        *(m for ms in study.outcomes.families.values() for m in ms),
    }
    needed = [
        name
        for item in instrument.items
        if item.scale in scored_scales or item.correct_answer is not None or item.name in declared
        for name in item.stored_names()
    ]
    frames = []
    for wave in study.wave_names:
        interviews, values = read_wave(out, wave, "value", needed)
        _, answered = read_wave(out, wave, "answered_code", coded_items)
        for item in instrument.items:
            if item.correct_answer is not None and item.name in values:
                said = answered[item.name].isin(codes.get("dont_know", []))
                values.loc[said, item.name] = answered.loc[said, item.name]
        for name in study.outcomes.not_applicable_as_zero:
            if name in values:
                values.loc[answered[name].isin(codes.get("not_applicable", [])), name] = 0.0
        kept = ~pq.read_table(out / wave / "quarantine.parquet").column("quarantined").to_numpy()
        frame = pd.concat([interviews.drop(columns=["row_number"]), values], axis=1)
        consent = frame["consent"].astype(float)
        frames.append(frame[kept & (consent.isna() | (consent == 1)).to_numpy()].assign(wave=wave))
    frame = pd.concat(frames, ignore_index=True)
    frame["treated"] = frame["treated"].astype(float)
    dont_know = codes.get("dont_know", [])

    def scorable(item: Any) -> bool:
        if item.direction == "negative" and None in item.bounds:
            return False
        return item.scale in scored_scales or item.correct_answer is not None

    recoded: dict[str, list[np.ndarray]] = {}
    for item in instrument.items:
        names = item.stored_names()
        if not scorable(item) or not all(name in frame for name in names):
            continue
        for name in names:
            values = frame[name].to_numpy(float)
            if item.correct_answer is not None:
                score = np.where(values == item.correct_answer, 1.0, 0.0)
                score[np.isnan(values)] = np.nan
                score[np.isin(values, dont_know)] = 0.0
            elif item.direction == "negative":
                low, high = item.bounds
                score = low + high - values
            else:
                score = values
            recoded.setdefault(item.construct_name, []).append(score)
    constructs = {construct.name for construct in instrument.constructs}
    family_of: dict[str, str] = {}
    for family, members in study.outcomes.families.items():
        for member in members:
            family_of.setdefault(member, family)
    for name in study.outcomes.primary:
        family_of.setdefault(name, "primary")
    outcomes: list[dict[str, Any]] = []
    for name in dict.fromkeys([*study.outcomes.primary, *family_of]):
        if name in constructs and name in recoded:
            stack = np.column_stack(recoded[name])
            needed = max(1, math.ceil(0.5 * stack.shape[1]))
            enough = (~np.isnan(stack)).sum(axis=1) >= needed
            sums = np.nansum(stack, axis=1)
            counts = (~np.isnan(stack)).sum(axis=1)
            frame[name] = np.where(enough, sums / np.maximum(counts, 1), np.nan)
            outcomes.append({"name": name, "direction": "positive"})
        elif name in frame and name not in constructs:
            outcomes.append({"name": name, "direction": instrument.item(name).direction})
    baseline = study.wave_names[0]
    reference = ((frame["wave"] == baseline) & (frame["treated"] == 0)).to_numpy()
    indices = []
    for family, members in study.outcomes.families.items():
        present = [entry for entry in outcomes if entry["name"] in members]
        if len(present) < 2:
            continue
        values = frame[[entry["name"] for entry in present]].to_numpy(float)
        signs = np.array([-1.0 if entry["direction"] == "negative" else 1.0 for entry in present])
        base = pd.DataFrame(values[reference])
        z = (values - base.mean().to_numpy()) / base.std(ddof=1).to_numpy() * signs
        answered = (~np.isnan(z)).sum(axis=1)
        index = np.where(answered > 0, np.nansum(z, axis=1) / np.maximum(answered, 1), np.nan)
        index = (index - np.nanmean(index[reference])) / pd.Series(index[reference]).std(ddof=1)
        frame[f"index_{family}"] = index
        indices.append({"name": f"index_{family}", "direction": "positive"})
    return frame, [*outcomes, *indices]


def estimate(study: Any, out: Path) -> pd.DataFrame:
    """ANCOVA by statsmodels WLS with CR1 errors for every outcome at every later wave."""
    import statsmodels.api as sm

    frame, outcomes = analysis_frame(study, out)
    baseline_wave = study.wave_names[0]
    at_baseline = frame[frame["wave"] == baseline_wave]
    rows = []
    for wave in study.wave_names[1:]:
        later = frame[frame["wave"] == wave]
        for entry in outcomes:
            outcome = entry["name"]
            if at_baseline[outcome].notna().sum() == 0:
                continue
            linked = at_baseline[["respondent", outcome]].drop_duplicates("respondent")
            model = later[["respondent", outcome, "treated", "cluster", "stratum", "weight"]].merge(
                linked.rename(columns={outcome: "baseline"}), on="respondent", how="left"
            )
            model = model.drop(columns=["respondent"])
            regressors = ["treated", "baseline"]
            missing = model["baseline"].isna() & model[outcome].notna()
            if missing.any() and model["baseline"].notna().any():
                model["baseline_missing"] = model["baseline"].isna().astype(float)
                model["baseline"] = model["baseline"].fillna(float(model["baseline"].mean()))
                regressors.append("baseline_missing")
            model = model.dropna()
            strata = pd.get_dummies(model["stratum"].astype(str), drop_first=True, dtype=float)
            design = sm.add_constant(pd.concat([model[regressors], strata], axis=1))
            groups = model["cluster"].astype("category").cat.codes.to_numpy()
            fit = sm.WLS(model[outcome].to_numpy(float), design, weights=model["weight"]).fit(
                cov_type="cluster", cov_kwds={"groups": groups}
            )
            rows.append(
                {
                    "outcome": outcome,
                    "wave": wave,
                    "estimate": float(fit.params["treated"]),
                    "std_error": float(fit.bse["treated"]),
                    "n_obs": int(fit.nobs),
                    "n_clusters": len(np.unique(groups)),
                }
            )
    table = pd.DataFrame(rows)
    table.to_parquet(out / "estimates.parquet")
    return table


def report(out: Path) -> None:
    table = pd.read_parquet(out / "estimates.parquet")
    (out / "report.html").write_text(table.to_html(index=False, float_format="%.4f"))


def main() -> None:
    stage, study_file, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    study = load(study_file)
    if stage == "ingest":
        ingest(study, out)
    elif stage == "validate":
        print(validate(study, out))
    elif stage == "estimate":
        print(len(estimate(study, out)), "estimates")
    elif stage == "report":
        report(out)
    else:
        raise SystemExit(
            f"plain_stages: unknown stage {stage!r}; choose ingest, validate, estimate or report"
        )


if __name__ == "__main__":
    main()
