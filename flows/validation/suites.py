"""Great Expectations suites built from a study: as JSON files, loaded back and counted."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from great_expectations.core.expectation_suite import ExpectationSuite

from flows.instrument import Item
from flows.study import Study
from flows.validation.checks import (
    CONTRADICTION_FLAG,
    CROSS_WAVE_FLAGS,
    FIELD_QUALITY_FLAGS,
    INTERVIEW_DATE_COLUMN,
    battery_items,
    item_special_codes,
)
from flows.validation.conditions import check_row_arguments

Severity = Literal["structural", "row", "warning"]
SEVERITIES: tuple[str, ...] = ("structural", "row", "warning")

# What a suite runs on: the coded wave with its derived columns, or a derived table.
Target = Literal["wave", "items", "enumerators", "arms"]
TARGETS: tuple[str, ...] = ("wave", "items", "enumerators", "arms")

SUITE_KINDS: tuple[str, ...] = (
    "structure",
    "design",
    "items",
    "field_quality",
    "item_rates",
    "enumerators",
    "cross_wave",
    "follow_up",
)

# Suite meta key: the SHA-256 of the study file the suite was generated from.
STUDY_FILE_META = "study_file_sha256"

# Expectation meta key: codes set aside (as missing) before a range check. A GX row_condition
# would say the same but costs GX a pandas query per metric (about 0.35 s per expectation on
# 1,000,000 rows), so trustshift hands GX the column with these codes blanked instead.
MISSING_CODES_META = "missing_codes"

_logger = logging.getLogger(__name__)


def suite_name(study: Study, kind: str, wave: str | None = None) -> str:
    """The name of one suite (also its file stem); no dots, which GX turns into folders."""
    return f"{study.id}_{kind}" if wave is None else f"{study.id}_{kind}_{wave}"


def _expectation(
    kind: str, *, severity: Severity, check: str, threshold: str, **kwargs: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "kwargs": kwargs,
        "meta": {"severity": severity, "check": check, "threshold": threshold},
    }


def _suite(
    study: Study,
    kind: str,
    target: Target,
    expectations: list[dict[str, Any]],
    *,
    wave: str | None = None,
    notes: str,
) -> dict[str, Any]:
    return {
        "name": suite_name(study, kind, wave),
        "meta": {
            "study_id": study.id,
            "target": target,
            "wave": wave,
            "notes": notes,
            # The study file the suite was generated from: a suite that no longer follows it
            # is regenerated (bundled) or refused (the study's own, perhaps edited, suites).
            STUDY_FILE_META: study.file_hash,
        },
        "expectations": expectations,
    }


def _codes_text(codes: list[float]) -> str:
    return "[" + ", ".join(f"{code:g}" for code in codes) + "]"


def _item_expectation(item: Item, column: str, special: list[float]) -> dict[str, Any]:
    valid = item.valid_codes
    missing_text = f"; missing codes {_codes_text(special)}" if special else ""
    if valid is not None:
        allowed = sorted(valid) + [code for code in special if code not in valid]
        return _expectation(
            "expect_column_values_to_be_in_set",
            severity="row",
            check="out_of_range",
            threshold=f"codes {_codes_text(sorted(valid))}{missing_text}",
            column=column,
            value_set=allowed,
        )
    low, high = item.bounds
    low_text = "-inf" if low is None else f"{low:g}"
    high_text = "inf" if high is None else f"{high:g}"
    expectation = _expectation(
        "expect_column_values_to_be_between",
        severity="row",
        check="out_of_range",
        threshold=f"range {low_text} to {high_text}{missing_text}",
        column=column,
        min_value=low,
        max_value=high,
    )
    if special:
        expectation["meta"][MISSING_CODES_META] = list(special)
    return expectation


def _role_columns(study: Study) -> list[str]:
    columns = study.columns
    roles = ["row_number", "respondent", "wave"]
    optional = {
        "submission": columns.submission,
        "cluster": columns.cluster,
        "stratum": columns.stratum,
        "arm": columns.arm,
        "treated": columns.arm,
        "weight": columns.weight,
        "enumerator": columns.enumerator,
        "interview_start": columns.interview_start,
        "interview_end": columns.interview_end,
        "consent": columns.consent,
    }
    roles.extend(role for role, declared in optional.items() if declared is not None)
    return roles


def item_columns(study: Study) -> list[str]:
    """Every stored item column of the study's instrument, in instrument order."""
    return [name for item in study.resolved_instrument().items for name in item.stored_names()]


def build_suites(study: Study) -> dict[str, dict[str, Any]]:
    """Every suite of a study as JSON-ready dicts, keyed by suite name.

    Each expectation carries ``meta.severity`` (structural, row or warning), ``meta.check`` (the
    reason a failing row gets) and ``meta.threshold`` (the rule in words); a range check also
    ``meta.missing_codes``, the declared missing codes set aside before the range is checked.
    Each suite's ``meta.target`` says what it runs on: the wave, or the derived ``items``,
    ``enumerators`` or ``arms`` table; ``meta.wave`` limits it to one wave.
    """
    instrument = study.resolved_instrument()
    quality = study.quality
    roles = _role_columns(study)
    suites: dict[str, dict[str, Any]] = {}

    def add(suite: dict[str, Any]) -> None:
        suites[suite["name"]] = suite

    # -- structure: required columns and types ---------------------------------------------
    structure = [
        _expectation(
            "expect_column_to_exist",
            severity="structural",
            check="missing_column",
            threshold="column present",
            column=column,
        )
        for column in [*roles, *item_columns(study)]
    ]
    structure.extend(
        _expectation(
            "expect_column_values_to_be_in_type_list",
            severity="structural",
            check="wrong_type",
            threshold="numeric codes (float64)",
            column=column,
            type_list=["float64", "float32", "int64", "int32", "int16", "int8"],
        )
        for column in item_columns(study)
    )
    add(
        _suite(
            study,
            "structure",
            "wave",
            structure,
            notes="Required role and item columns of the coded wave, items stored as numbers.",
        )
    )

    # -- design: labels, one row per respondent, consent, eligibility ---------------------
    design = [
        _expectation(
            "expect_column_values_to_be_in_set",
            severity="structural",
            check="unknown_wave",
            threshold=f"one of {study.wave_names}",
            column="wave",
            value_set=list(study.wave_names),
        ),
        _expectation(
            "expect_column_values_to_not_be_null",
            severity="row",
            check="missing_respondent",
            threshold="every interview has a respondent id",
            column="respondent",
        ),
        _expectation(
            "expect_column_values_to_be_unique",
            severity="row",
            check="duplicate_respondent",
            threshold="one row per respondent per wave",
            column="respondent",
        ),
    ]
    if study.columns.arm is not None:
        arms = [*study.columns.arm.treatment, *study.columns.arm.comparison]
        design.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                severity="structural",
                check="unknown_arm",
                threshold=f"one of {arms}",
                column="arm",
                value_set=arms,
            )
        )
        design.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                severity="row",
                check="missing_arm",
                threshold="every interview has an arm",
                column="arm",
            )
        )
    for role in ("cluster", "stratum"):
        if getattr(study.columns, role) is not None:
            design.append(
                _expectation(
                    "expect_column_values_to_not_be_null",
                    severity="row",
                    check=f"missing_{role}",
                    threshold=f"every interview has a {role} label",
                    column=role,
                )
            )
    if study.columns.submission is not None:
        design.append(
            _expectation(
                "expect_column_values_to_be_unique",
                severity="row",
                check="duplicate_submission_id",
                threshold="one row per submission id",
                column="submission",
            )
        )
    if study.columns.consent is not None:
        design.append(
            _expectation(
                "expect_column_values_to_not_be_null",
                severity="row",
                check="missing_consent",
                threshold="consent recorded",
                column="consent",
            )
        )
        design.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                severity="row",
                check="missing_consent",
                threshold="consent given (1)",
                column="consent",
                value_set=[1],
            )
        )
    age_item = quality.age_item
    if (
        age_item
        and age_item in instrument.item_names
        and (quality.minimum_age is not None or quality.maximum_age is not None)
    ):
        special = item_special_codes(study, instrument.item(age_item))
        eligibility = _expectation(
            "expect_column_values_to_be_between",
            severity="row",
            check="ineligible_age",
            threshold=f"age {quality.minimum_age} to {quality.maximum_age}",
            column=age_item,
            min_value=quality.minimum_age,
            max_value=quality.maximum_age,
        )
        if special:
            eligibility["meta"][MISSING_CODES_META] = special
        design.append(eligibility)
    add(
        _suite(
            study,
            "design",
            "wave",
            design,
            notes="Arm and wave labels, cluster and stratum present, one row per respondent, "
            "consent and eligibility.",
        )
    )

    # -- items: each item's range or code set, its missing codes included ------------------
    items: list[dict[str, Any]] = []
    for item in instrument.items:
        special = item_special_codes(study, item)
        items.extend(_item_expectation(item, column, special) for column in item.stored_names())
    add(
        _suite(
            study,
            "items",
            "wave",
            items,
            notes="Each item's code set or range, its declared missing codes allowed.",
        )
    )

    # -- fieldwork windows, one suite per wave ----------------------------------------------
    if study.columns.interview_start is not None:
        for wave in study.waves:
            if wave.fieldwork_start is None and wave.fieldwork_end is None:
                continue
            low = int(wave.fieldwork_start.strftime("%Y%m%d")) if wave.fieldwork_start else None
            high = int(wave.fieldwork_end.strftime("%Y%m%d")) if wave.fieldwork_end else None
            add(
                _suite(
                    study,
                    "fieldwork",
                    "wave",
                    [
                        _expectation(
                            "expect_column_values_to_be_between",
                            severity="row",
                            check="outside_fieldwork",
                            threshold=f"interview date {wave.fieldwork_start} to "
                            f"{wave.fieldwork_end}",
                            column=INTERVIEW_DATE_COLUMN,
                            min_value=low,
                            max_value=high,
                        )
                    ],
                    wave=wave.name,
                    notes=f"Interviews of wave {wave.name!r} started inside its fieldwork window "
                    f"({INTERVIEW_DATE_COLUMN} is the start date as YYYYMMDD).",
                )
            )

    # -- field quality: derived per-row flags --------------------------------------------
    thresholds = {
        "duplicate_submission": (
            "same respondent or submission id, or answers identical in at least "
            f"{quality.duplicate_similarity:.0%} of items"
        ),
        "speeder": (
            f"duration under {quality.minimum_duration_minutes:g} minutes or under "
            f"{quality.speeder_fraction_of_median:g} x the median"
        ),
        "straightliner": (
            f"the same answer to every item of {quality.straightlining_batteries} "
            f"(at least {quality.straightlining_minimum_items} answered)"
        ),
        "contradiction": "; ".join(rule.describe() for rule in quality.contradictions),
        "enumerator_outlier": (
            f"an enumerator's robust z-score beyond {quality.enumerator_outlier_z:g} on mean "
            "duration, answer variance or near-duplicate share"
        ),
    }
    field_quality = []
    for check, flag in FIELD_QUALITY_FLAGS.items():
        if flag == CONTRADICTION_FLAG and not quality.contradictions:
            continue
        if check == "straightliner" and not any(
            battery_items(study, battery) for battery in quality.straightlining_batteries
        ):
            continue
        field_quality.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                severity="row",
                check=check,
                threshold=thresholds[check],
                column=flag,
                value_set=[0],
            )
        )
    add(
        _suite(
            study,
            "field_quality",
            "wave",
            field_quality,
            notes="High-frequency field checks computed once per wave as 0/1 flag columns.",
        )
    )

    # -- per-item rates ---------------------------------------------------------------------
    add(
        _suite(
            study,
            "item_rates",
            "items",
            [
                _expectation(
                    "expect_column_values_to_be_between",
                    severity="warning",
                    check=f"{reason}_rate",
                    threshold=f"at most {quality.maximum_dont_know_rate:.0%} per item",
                    column=f"{reason}_rate",
                    min_value=0.0,
                    max_value=quality.maximum_dont_know_rate,
                )
                for reason in ("dont_know", "refused")
            ],
            notes="One row per item column: the share of its answers that are don't-know or "
            "refused.",
        )
    )

    # -- per-enumerator table ---------------------------------------------------------------
    if study.columns.enumerator is not None:
        z = quality.enumerator_outlier_z
        enumerator_checks = [
            _expectation(
                "expect_column_values_to_be_between",
                severity="warning",
                check=f"enumerator_{reason}_rate",
                threshold=f"at most {quality.maximum_dont_know_rate:.0%} per enumerator",
                column=f"{reason}_rate",
                min_value=0.0,
                max_value=quality.maximum_dont_know_rate,
            )
            for reason in ("dont_know", "refused")
        ]
        enumerator_checks.extend(
            _expectation(
                "expect_column_values_to_be_between",
                severity="row",
                check="enumerator_outlier",
                threshold=f"robust z-score within +/-{z:g}",
                column=column,
                min_value=-z,
                max_value=z,
            )
            for column in ("duration_z", "answer_variance_z", "near_duplicate_z")
        )
        add(
            _suite(
                study,
                "enumerators",
                "enumerators",
                enumerator_checks,
                notes="One row per enumerator: robust z-scores against peers; an outlier's "
                "interviews are all quarantined.",
            )
        )

    # -- cross-wave ---------------------------------------------------------------------
    cross_wave = []
    for role, flag in CROSS_WAVE_FLAGS.items():
        if role == "arm" and study.columns.arm is None:
            continue
        if role in ("cluster", "stratum") and getattr(study.columns, role) is None:
            continue
        cross_wave.append(
            _expectation(
                "expect_column_values_to_be_in_set",
                severity="row",
                check=f"{role}_changed",
                threshold=f"{role} equal to the respondent's earlier wave",
                column=flag,
                value_set=[0],
            )
        )
    if study.design.sampling == "panel":
        cross_wave.append(
            _expectation(
                "expect_column_mean_to_be_between",
                severity="warning",
                check="found_at_baseline",
                threshold=f"at least {quality.minimum_found_at_baseline:.0%} found at baseline",
                column="found_at_baseline",
                min_value=quality.minimum_found_at_baseline,
                max_value=1.0,
            )
        )
    add(
        _suite(
            study,
            "cross_wave",
            "wave",
            cross_wave,
            notes="Later waves against earlier ones: the same respondent keeps arm, cluster and "
            "stratum; share of respondents found at baseline.",
        )
    )
    if study.design.sampling == "panel" and study.columns.arm is not None:
        add(
            _suite(
                study,
                "follow_up",
                "arms",
                [
                    _expectation(
                        "expect_column_values_to_be_between",
                        severity="warning",
                        check="differential_follow_up",
                        threshold=f"follow-up rates of the arms within "
                        f"{quality.maximum_follow_up_gap:.0%} of each other",
                        column="follow_up_gap",
                        min_value=0.0,
                        max_value=quality.maximum_follow_up_gap,
                    )
                ],
                notes="One row per arm: the share of its baseline respondents interviewed in "
                "this wave, and its gap to the best-followed arm.",
            )
        )
    return suites


def write_suites(study: Study, directory: Path | str) -> list[Path]:
    """Write every suite as ``<suite name>.json`` into ``directory``; return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, suite in build_suites(study).items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(suite, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def to_gx_suite(suite: Mapping[str, Any], *, source: str = "suite") -> ExpectationSuite:
    """A GX suite from its JSON dict; fails when GX dropped or misread any expectation."""
    declared = list(suite.get("expectations", []))
    for position, expectation in enumerate(declared):
        severity = expectation.get("meta", {}).get("severity")
        if severity not in SEVERITIES:
            raise ValueError(
                f"load_suites: expectation {position} ({expectation.get('type')!r}) of {source} "
                f"has meta.severity {severity!r}; set it to one of {list(SEVERITIES)}."
            )
        check_row_arguments(
            str(expectation.get("type")), expectation.get("kwargs", {}), source=source
        )
    target = suite.get("meta", {}).get("target")
    if target not in TARGETS:
        raise ValueError(
            f"load_suites: {source} has meta.target {target!r}; set it to one of {list(TARGETS)}."
        )
    # GX logs and skips an expectation it does not know; silence that log line and count.
    gx_logger = logging.getLogger("great_expectations.core.expectation_suite")
    previous = gx_logger.disabled
    gx_logger.disabled = True
    try:
        loaded = ExpectationSuite(
            name=suite["name"],
            expectations=[dict(expectation) for expectation in declared],
            meta=dict(suite.get("meta", {})),
        )
    finally:
        gx_logger.disabled = previous
    if len(loaded.expectations) != len(declared):
        known = {expectation.expectation_type for expectation in loaded.expectations}
        lost = sorted({str(e.get("type")) for e in declared if e.get("type") not in known}) or [
            "(an expectation with invalid arguments)"
        ]
        raise ValueError(
            f"load_suites: {source} declares {len(declared)} expectations but Great "
            f"Expectations understood {len(loaded.expectations)}; not understood: {lost}. Fix "
            "the expectation type or its arguments (see the GX 1.x expectation gallery), or "
            "regenerate the suite with write_suites."
        )
    return loaded


def load_suites(directory: Path | str, study: Study) -> dict[str, dict[str, Any]]:
    """Load the study's suites from ``directory`` (one JSON per suite, stem == name).

    Every file named ``<study id>_*.json`` is loaded and checked by building it in GX; a file
    whose stem differs from its suite name, an expectation GX does not understand (GX 1.x
    drops those silently) or a missing severity fails loudly. Returns the JSON dicts, ready
    for ``validate_wave(..., suites=...)``.
    """
    directory = Path(directory)
    paths = sorted(directory.glob(f"{study.id}_*.json"))
    if not paths:
        raise FileNotFoundError(
            f"load_suites: no suite files {study.id}_*.json in {str(directory)!r}. Write them "
            "with write_suites(study, directory) first."
        )
    suites: dict[str, dict[str, Any]] = {}
    for path in paths:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(
                f"load_suites: {path} is not valid JSON ({error}). Fix the syntax."
            ) from None
        if raw.get("name") != path.stem:
            raise ValueError(
                f"load_suites: {path} holds suite {raw.get('name')!r}; the file stem must equal "
                f"the suite name. Rename the file to {raw.get('name')}.json or fix 'name'."
            )
        to_gx_suite(raw, source=str(path))
        suites[path.stem] = raw
    return suites
