"""Validate one coded wave: structural checks, row quarantine, GX results and Data Docs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from flows.errors import DataQualityError
from flows.reading.values import shown_value
from flows.study import Study
from flows.validation.checks import (
    ENUMERATOR_FLAG,
    FOLLOW_UP_COLUMNS,
    cross_wave,
    enumerator_outliers,
    field_quality,
)
from flows.validation.conditions import ROW_EXPECTATION_TYPES, failing_rows
from flows.validation.gx_runner import CHUNK_ROWS, SuiteRun, run_suites
from flows.validation.suites import MISSING_CODES_META, build_suites, item_columns

SUMMARY_COLUMNS: tuple[str, ...] = (
    "suite",
    "expectation",
    "column",
    "check",
    "severity",
    "success",
    "unexpected_count",
    "unexpected_percent",
    "threshold",
)
ROW_FLAG_COLUMNS: tuple[str, ...] = ("row_number", "submission", "check", "reason", "severity")
RECHECK_COLUMNS: tuple[str, ...] = ("submission", "row_number", "enumerator", "reasons")

ResultFormat = Literal["BOOLEAN_ONLY", "SUMMARY"]

# check -> the study-file settings that decide it, named when the check takes too much.
CHECK_SETTINGS: dict[str, str] = {
    "duplicate_submission": (
        "quality.duplicate_minimum_items or quality.duplicate_similarity (or switch the "
        "near-duplicate search off with quality.near_duplicates = false)"
    ),
    "speeder": "quality.minimum_duration_minutes or quality.speeder_fraction_of_median",
    "straightliner": "quality.straightlining_batteries or quality.straightlining_minimum_items",
    "contradiction": "quality.contradictions",
    "enumerator_outlier": "quality.enumerator_outlier_z",
    "ineligible_age": "quality.minimum_age, quality.maximum_age or quality.age_item",
    "out_of_range": "the item's minimum/maximum or codes, or [missing_codes]",
    "outside_fieldwork": "the wave's fieldwork_start and fieldwork_end",
    "missing_consent": "columns.consent and columns.consent_value",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveValidation:
    """Everything one validation run found in one wave.

    ``summary`` has one row per expectation (columns ``SUMMARY_COLUMNS``); ``row_flags`` one
    row per reason a row is flagged (``ROW_FLAG_COLUMNS``); ``quarantined`` the row numbers of
    every row with a row-level failure; ``recheck`` the list for the field team (submission
    ids, enumerator and reasons; never names or phones).
    """

    study_id: str
    wave: str
    n_rows: int
    summary: pd.DataFrame
    row_flags: pd.DataFrame
    quarantined: tuple[int, ...]
    enumerators: pd.DataFrame
    item_rates: pd.DataFrame
    follow_up: pd.DataFrame
    recheck: pd.DataFrame
    structural_failures: tuple[str, ...]
    data_docs_path: Path | None

    @property
    def success(self) -> bool:
        """True when nothing structural failed (row failures are quarantined, not fatal)."""
        return not self.structural_failures

    def tidy(self) -> pd.DataFrame:
        """The per-expectation summary."""
        return self.summary


def _suites_for(
    suites: Mapping[str, Mapping[str, Any]], wave: str, *, cross_wave_available: bool
) -> list[Mapping[str, Any]]:
    chosen = []
    for suite in suites.values():
        meta = suite.get("meta", {})
        if meta.get("wave") not in (None, wave):
            continue
        kind_is_cross_wave = meta.get("target") == "arms" or str(suite["name"]).endswith(
            "_cross_wave"
        )
        if kind_is_cross_wave and not cross_wave_available:
            continue
        if not suite.get("expectations"):
            continue
        chosen.append(suite)
    return chosen


def _structural_failures(
    coded: pd.DataFrame,
    suites: list[Mapping[str, Any]],
    *,
    study: Study,
    wave: str,
    conflicts: pd.DataFrame | None,
) -> list[str]:
    where = f"validate_wave: wave {wave!r} of study {study.id!r}"
    messages: list[str] = []
    for suite in suites:
        if suite.get("meta", {}).get("target") != "wave":
            continue
        for expectation in suite["expectations"]:
            if expectation.get("meta", {}).get("severity") != "structural":
                continue
            kind = expectation["type"]
            kwargs = expectation["kwargs"]
            column = kwargs.get("column")
            if kind == "expect_column_to_exist":
                if column not in coded.columns:
                    messages.append(
                        f"{where}: required column {column!r} is missing (suite "
                        f"{suite['name']!r}). Map the export's column to {column!r} in the "
                        "study file ([columns] for a role, [reading.rename] or "
                        "instrument.drop_items for an item) or fix the export, then ingest "
                        "the wave again."
                    )
                continue
            if column not in coded.columns:
                continue
            if kind == "expect_column_values_to_be_in_type_list":
                dtype = str(coded[column].dtype)
                if dtype not in kwargs["type_list"] and not pd.api.types.is_numeric_dtype(
                    coded[column]
                ):
                    messages.append(
                        f"{where}: column {column!r} holds {dtype} values; the suite expects "
                        f"{kwargs['type_list']}. Code the item as numbers in the export or "
                        "check the study file's [reading.rename] mapping."
                    )
                continue
            if kind == "expect_column_values_to_be_in_set":
                values = coded[column]
                unknown = values[values.notna() & ~values.isin(kwargs["value_set"])]
                if len(unknown):
                    # Only code-like values are quoted: a shifted column may hold names.
                    found = [shown_value(v) for v in sorted({str(v) for v in unknown})[:10]]
                    rows = coded.loc[unknown.index[:5], "row_number"].tolist()
                    messages.append(
                        f"{where}: column {column!r} holds unknown labels "
                        f"[{', '.join(found)}] in "
                        f"{len(unknown)} rows (first rows {rows}); the study allows "
                        f"{kwargs['value_set']}. Declare the label in the study file "
                        f"(columns.arm or [[waves]]) or correct the export."
                    )
                continue
    if conflicts is not None and len(conflicts):
        shown = "; ".join(
            f"{respondent!r} in rows {rows}"
            for respondent, rows in conflicts.head(5).itertuples(index=False)
        )
        messages.append(
            f"{where}: column 'respondent' repeats {len(conflicts)} respondent ids with "
            f"different answers ({shown}). Give each person one id (fix the id in the export "
            "or drop the wrong interview) and ingest the wave again."
        )
    return messages


def _format_threshold(expectation: Mapping[str, Any]) -> str:
    threshold = expectation.get("meta", {}).get("threshold")
    if threshold:
        return str(threshold)
    kwargs = expectation["kwargs"]
    if "value_set" in kwargs:
        return f"in {kwargs['value_set']}"
    if "min_value" in kwargs or "max_value" in kwargs:
        return f"{kwargs.get('min_value')} to {kwargs.get('max_value')}"
    return ""


def validate_wave(
    coded: pd.DataFrame,
    *,
    study: Study,
    wave: str,
    earlier_waves: pd.DataFrame | None = None,
    data_docs_dir: Path | None = None,
    suites: Mapping[str, Mapping[str, Any]] | None = None,
    on_structural: Literal["raise", "return"] = "raise",
    result_format: ResultFormat = "BOOLEAN_ONLY",
    chunk_rows: int = CHUNK_ROWS,
) -> WaveValidation:
    """Validate one coded wave against the study's suites.

    Structural failures (a missing column, an unknown arm or wave label, a respondent id
    repeated with different answers) raise ``DataQualityError`` naming the column and the fix;
    with ``on_structural="return"`` they are returned instead (only the suites that can run
    are run and nothing is quarantined). Row-level failures quarantine the row with every
    reason. A respondent id repeated with (nearly) the same answers is a duplicate submission:
    the first interview is kept and the later copies are quarantined.

    ``earlier_waves`` holds the coded rows of earlier waves (at least ``wave``,
    ``respondent``, ``row_number`` and the arm/cluster/stratum columns, ids in the same space
    as ``coded``); without it the cross-wave suites are skipped. ``suites`` defaults to
    ``build_suites(study)`` (pass ``load_suites(directory, study)`` for edited files).
    Wave-level suites run in GX chunk by chunk (``chunk_rows`` interviews; see
    ``flows.validation.chunks``) and their combined results keep ``result_format``
    (BOOLEAN_ONLY by default: the unexpected counts then come from trustshift's own
    vectorised evaluation of the same conditions, which gives GX's numbers, and the Data
    Docs show pass/fail per expectation).
    """
    if wave not in study.wave_names:
        raise DataQualityError(
            f"validate_wave: wave {wave!r} is not a wave of study {study.id!r}; the study "
            f"declares {study.wave_names}. Add it under [[waves]] in the study file or give "
            "the right wave name."
        )
    suites = build_suites(study) if suites is None else suites
    cross_wave_available = earlier_waves is not None and study.wave_names.index(wave) > 0
    chosen = _suites_for(suites, wave, cross_wave_available=cross_wave_available)
    items = [name for name in item_columns(study) if name in coded.columns]

    original = coded.reset_index(drop=True)
    coded = working_frame(original)
    missing_basics = [c for c in ("row_number", "respondent") if c not in coded.columns]
    conflicts = None
    quality = None
    if not missing_basics:
        quality = field_quality(coded, study, items)
        conflicts = quality.conflicting_respondents
        if len(conflicts):
            first_rows = [rows[0] for rows in conflicts["row_numbers"]]
            labels = original.set_index("row_number").loc[first_rows, "respondent"]
            conflicts = conflicts.assign(respondent=[str(label) for label in labels])
    structural = _structural_failures(original, chosen, study=study, wave=wave, conflicts=conflicts)
    if structural and on_structural == "raise":
        raise DataQualityError("\n".join(structural))
    if structural or quality is None:
        # Only the column checks can run on a wave missing columns: GX errors on the others.
        runs = [
            SuiteRun(
                suite={
                    **suite,
                    "expectations": [
                        e for e in suite["expectations"] if e["type"] == "expect_column_to_exist"
                    ],
                },
                target="wave",
                frame=coded,
                result_format="SUMMARY",
            )
            for suite in chosen
            if str(suite["name"]).endswith("_structure")
        ]
        results, docs = run_suites(runs, data_docs_dir=data_docs_dir, chunk_rows=chunk_rows)
        summary = _summary(runs, results, pandas_counts={})
        return WaveValidation(
            study_id=study.id,
            wave=wave,
            n_rows=len(coded),
            summary=summary,
            row_flags=pd.DataFrame(columns=list(ROW_FLAG_COLUMNS)),
            quarantined=(),
            enumerators=pd.DataFrame(),
            item_rates=pd.DataFrame(),
            follow_up=pd.DataFrame(columns=list(FOLLOW_UP_COLUMNS)),
            recheck=pd.DataFrame(columns=list(RECHECK_COLUMNS)),
            structural_failures=tuple(structural),
            data_docs_path=docs,
        )

    # -- derived columns ------------------------------------------------------------------
    derived = quality.derived
    reasons = dict(quality.reasons)
    follow_up = pd.DataFrame(columns=list(FOLLOW_UP_COLUMNS))
    if cross_wave_available and earlier_waves is not None:
        cross, cross_reasons, follow_up = cross_wave(original, study, wave, earlier_waves)
        derived = pd.concat([derived, cross], axis=1)
        reasons.update(cross_reasons)

    frames: dict[str, pd.DataFrame] = {
        "items": quality.item_rates,
        "enumerators": quality.enumerators,
        "arms": follow_up,
    }
    # Enumerator outliers: the enumerators suite's row-level checks pick the enumerators, and
    # every interview of theirs gets the flag the field_quality suite validates.
    failing_enumerators: dict[str, list[str]] = {}
    pandas_counts: dict[tuple[str, int], tuple[int, float]] = {}
    for suite in chosen:
        if suite["meta"]["target"] != "enumerators":
            continue
        table = quality.enumerators
        for expectation in suite["expectations"]:
            if expectation["meta"]["severity"] != "row" or table.empty:
                continue
            column = expectation["kwargs"]["column"]
            failing = failing_rows(table, expectation["type"], expectation["kwargs"], reasons={})
            if failing.tolerated:
                continue
            for name, value in zip(
                table["enumerator"].to_numpy()[failing.mask],
                table[column].to_numpy()[failing.mask],
                strict=True,
            ):
                failing_enumerators.setdefault(str(name), []).append(f"{column} = {value:.1f}")
    flags, texts = enumerator_outliers(
        coded,
        quality.enumerators,
        {
            name: f"every interview of enumerator {name!r} ({', '.join(found)})"
            for name, found in failing_enumerators.items()
        },
    )
    derived[ENUMERATOR_FLAG] = flags
    reasons[ENUMERATOR_FLAG] = pd.Series(texts, index=coded.index[flags.astype(bool)])

    # Columns side by side without copying them (a wide concat copies every block).
    checked = pd.DataFrame(
        {
            **{column: coded[column].array for column in coded.columns},
            **{column: derived[column].array for column in derived.columns},
        },
        index=coded.index,
        copy=False,
    )
    row_numbers = checked["row_number"].to_numpy()

    # -- row flags: every row-level expectation on the wave, evaluated once in pandas -------
    flag_parts = []
    for suite in chosen:
        if suite["meta"]["target"] != "wave":
            continue
        for position, expectation in enumerate(suite["expectations"]):
            kwargs = expectation["kwargs"]
            if expectation["type"] not in ROW_EXPECTATION_TYPES:
                continue
            if kwargs.get("column") not in checked.columns:
                continue
            failing = failing_rows(
                checked,
                expectation["type"],
                kwargs,
                reasons=reasons,
                missing_codes=expectation["meta"].get(MISSING_CODES_META, ()),
            )
            pandas_counts[(suite["name"], position)] = (
                failing.unexpected_count,
                failing.unexpected_percent,
            )
            if (
                expectation["meta"]["severity"] != "row"
                or failing.tolerated
                or not failing.mask.any()
            ):
                continue
            flag_parts.append(
                pd.DataFrame(
                    {
                        "row_number": row_numbers[failing.mask],
                        "submission": original["submission"][failing.mask].astype(object).to_numpy()
                        if "submission" in checked.columns
                        else None,
                        "check": expectation["meta"].get("check", expectation["type"]),
                        "reason": failing.reasons,
                        "severity": "row",
                    }
                )
            )
    row_flags = (
        pd.concat(flag_parts, ignore_index=True)
        if flag_parts
        else pd.DataFrame(columns=list(ROW_FLAG_COLUMNS))
    )
    row_flags = (
        row_flags.drop_duplicates(["row_number", "check", "reason"])
        .sort_values(["row_number", "check", "reason"], kind="stable")
        .reset_index(drop=True)[list(ROW_FLAG_COLUMNS)]
    )
    row_flags["row_number"] = row_flags["row_number"].astype("int64")
    quarantined = tuple(int(r) for r in np.unique(row_flags["row_number"].to_numpy()))
    wholesale = _wholesale_checks(row_flags, n_rows=len(coded), study=study, wave=wave)
    if wholesale and on_structural == "raise":
        raise DataQualityError("\n".join(wholesale))

    # -- GX: each suite once on its frame -------------------------------------------------
    runs = []
    for suite in chosen:
        target = suite["meta"]["target"]
        frame = checked if target == "wave" else frames[target]
        if frame.empty and target != "wave":
            continue
        # GX reads each chunk's columns of this suite only, range checks with their missing
        # codes set aside (the structure suite reads all columns to see which are missing).
        runs.append(
            SuiteRun(
                suite=suite,
                target=target,
                frame=frame,
                result_format=result_format if target == "wave" else "SUMMARY",
                blanked=_blanked_codes(suite, frame) if target == "wave" else {},
            )
        )
    results, docs = run_suites(
        runs,
        data_docs_dir=data_docs_dir,
        chunk_rows=chunk_rows,
        progress=f"validating wave {wave!r} (chunks of {chunk_rows:,} interviews)",
    )
    summary = _summary(runs, results, pandas_counts=pandas_counts)

    recheck = _recheck(row_flags, original)
    return WaveValidation(
        study_id=study.id,
        wave=wave,
        n_rows=len(coded),
        summary=summary,
        row_flags=row_flags,
        quarantined=() if wholesale else quarantined,
        enumerators=quality.enumerators,
        item_rates=quality.item_rates,
        follow_up=follow_up,
        recheck=recheck,
        structural_failures=tuple(wholesale),
        data_docs_path=docs,
    )


def _wholesale_checks(
    row_flags: pd.DataFrame, *, n_rows: int, study: Study, wave: str
) -> list[str]:
    """A message for each row-level check that would quarantine more than the allowed share.

    A check that takes a large part of a wave is more likely wrong for the questionnaire than
    the wave is bad; quarantining the rows would leave a later step to fail on what remains.
    """
    limit = study.quality.maximum_quarantine_share
    if n_rows == 0 or row_flags.empty:
        return []
    counts = row_flags.groupby("check", sort=True)["row_number"].nunique()
    messages = []
    for check, count in counts.items():
        share = int(count) / n_rows
        if share <= limit:
            continue
        settings = CHECK_SETTINGS.get(str(check), "the study file's [quality] settings")
        messages.append(
            f"validate_wave: check {str(check)!r} would quarantine {share:.1%} of wave "
            f"{wave!r} ({int(count)} of {n_rows} rows), more than "
            f"quality.maximum_quarantine_share = {limit:g}; the wave is stopped (nothing "
            f"quarantined). Review the check's settings ({settings}), or raise "
            "quality.maximum_quarantine_share if so many rows are truly bad, then run again."
        )
    return messages


# Role columns holding few labels: validated as categoricals (labels factorized once instead
# of in every duplicated/isin/groupby call on a million Arrow strings).
LABEL_COLUMNS: tuple[str, ...] = (
    "cluster",
    "stratum",
    "arm",
    "wave",
    "enumerator",
)


# Ids: one distinct value per row, so a categorical would cost more than it saves.
IDENTIFIER_COLUMNS: tuple[str, ...] = ("respondent", "submission")


def working_frame(coded: pd.DataFrame) -> pd.DataFrame:
    """The coded wave as the checks read it: ids as integer codes, labels as categories."""
    columns: dict[str, Any] = {}
    for column in coded.columns:
        values = coded[column]
        if column in IDENTIFIER_COLUMNS:
            # Ids are checked for presence and repeats only: integer codes say the same.
            codes = pd.factorize(values)[0].astype(np.float64)
            codes[codes < 0] = np.nan
            columns[column] = codes
            continue
        if column in LABEL_COLUMNS and not isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("category")
        columns[column] = values.array
    # Arrays, not Series: a frame built from Series aligns their indexes (slow on 10^6 rows).
    return pd.DataFrame(columns, index=pd.RangeIndex(len(coded)), copy=False)


def _blanked_codes(suite: Mapping[str, Any], frame: pd.DataFrame) -> dict[str, list[float]]:
    """Per column, the missing codes a range check of the suite sets aside."""
    blanked: dict[str, list[float]] = {}
    for expectation in suite["expectations"]:
        column = expectation["kwargs"].get("column")
        codes = expectation.get("meta", {}).get(MISSING_CODES_META)
        if codes and column in frame.columns:
            blanked[column] = list(codes)
    return blanked


def _summary(
    runs: list[SuiteRun],
    results: list[Any],
    *,
    pandas_counts: Mapping[tuple[str, int], tuple[int, float]],
) -> pd.DataFrame:
    rows = []
    for run, result in zip(runs, results, strict=True):
        name = run.suite["name"]
        declared = run.suite["expectations"]
        if len(result.results) != len(declared):
            raise RuntimeError(
                f"validate_wave: suite {name!r} returned {len(result.results)} results for "
                f"{len(declared)} expectations; Great Expectations skipped some. Check the "
                "suite with load_suites."
            )
        for position, (expectation, outcome) in enumerate(
            zip(declared, result.results, strict=True)
        ):
            details = outcome.result or {}
            count: Any = details.get("unexpected_count")
            percent: Any = details.get("unexpected_percent")
            if (name, position) in pandas_counts and count is None:
                count, percent = pandas_counts[(name, position)]
            raised = (outcome.exception_info or {}).get("raised_exception", False)
            if raised:
                raise RuntimeError(
                    f"validate_wave: expectation {expectation['type']!r} on column "
                    f"{expectation['kwargs'].get('column')!r} of suite {name!r} could not run: "
                    f"{outcome.exception_info.get('exception_message')}. Fix the suite's "
                    "arguments or the column's type."
                )
            rows.append(
                {
                    "suite": name,
                    "expectation": expectation["type"],
                    "column": expectation["kwargs"].get("column", ""),
                    "check": expectation.get("meta", {}).get("check", ""),
                    "severity": expectation.get("meta", {}).get("severity", "warning"),
                    "success": bool(outcome.success),
                    "unexpected_count": count,
                    "unexpected_percent": np.nan if percent is None else float(percent),
                    "threshold": _format_threshold(expectation),
                }
            )
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    summary["unexpected_count"] = summary["unexpected_count"].astype("Int64")
    summary["success"] = summary["success"].astype(bool)
    return summary


def _recheck(row_flags: pd.DataFrame, coded: pd.DataFrame) -> pd.DataFrame:
    if row_flags.empty:
        return pd.DataFrame(columns=list(RECHECK_COLUMNS))
    texts = row_flags.assign(
        text=row_flags["check"].astype(str) + ": " + row_flags["reason"].astype(str)
    )[["row_number", "text"]]
    # Most flagged rows have one reason: join strings only for the rows with several.
    repeated = texts["row_number"].duplicated(keep=False)
    several = (
        texts[repeated].groupby("row_number", sort=False)["text"].agg(" | ".join).reset_index()
    )
    grouped = (
        pd.concat([texts[~repeated], several], ignore_index=True)
        .rename(columns={"text": "reasons"})
        .sort_values("row_number", kind="stable")
        .reset_index(drop=True)
    )
    keep = ["row_number"] + [c for c in ("submission", "enumerator") if c in coded.columns]
    merged = grouped.merge(coded[keep], on="row_number", how="left")
    for column in ("submission", "enumerator"):
        if column not in merged.columns:
            merged[column] = pd.NA
    return merged[list(RECHECK_COLUMNS)]
