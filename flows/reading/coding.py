"""Code a raw wave: role columns, one float column per stored item, codes as answered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flows.errors import IngestError
from flows.instrument import Instrument, Item
from flows.reading.matching import ColumnMap, match_columns
from flows.reading.raw import RawWave, nonblank_rows
from flows.reading.values import (
    BLANK_TEXT,
    Place,
    codes_from,
    describe_labels,
    label_key,
    show_number,
    shown_value,
    text_of,
)
from flows.study import Study

# The role columns of a coded wave, in order; the item columns follow.
ROLE_COLUMNS = (
    "row_number",
    "respondent",
    "submission",
    "cluster",
    "stratum",
    "arm",
    "treated",
    "wave",
    "weight",
    "enumerator",
    "interview_start",
    "interview_end",
    "consent",
)
TEXT_ROLES = ("respondent", "submission", "cluster", "stratum", "enumerator")
YES_TEXT = frozenset({"yes", "true"})
# Excel stores a date cell that lost its format as days since 1899-12-30.
EXCEL_SERIAL_RANGE = (20_000.0, 80_000.0)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CodedWave:
    """One wave coded onto the study's roles and instrument, identifying columns dropped."""

    frame: pd.DataFrame
    wave: str
    source_format: str
    missing_items: tuple[str, ...]
    dropped_columns: tuple[str, ...]
    row_count: int


def code_wave(
    raw: RawWave, *, study: Study, wave: str | None = None, first_row: int = 1
) -> CodedWave:
    """Map a raw export onto the study: role columns, then items as numeric codes.

    ``first_row`` is the file row number of the frame's first row (a later chunk of a file
    read in chunks); row numbers and messages count from it.
    """
    file = raw.source.name
    instrument = study.resolved_instrument()
    columns = match_columns(list(raw.frame.columns), study=study, file=file)
    keep = nonblank_rows(raw.frame)
    if not keep.any():
        raise IngestError(
            f"code_wave: {file} holds no data rows. Export the wave again once interviews "
            "have been submitted."
        )
    frame = raw.frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    rows = np.flatnonzero(keep) + first_row
    coder = _Coder(raw=raw, frame=frame, rows=rows, study=study, columns=columns)

    coded: dict[str, Any] = {"row_number": rows.astype("int64")}
    coded.update(coder.roles())
    coded["wave"] = pd.Series(
        [coder.wave_name(wave)] * len(frame), dtype="str", index=range(len(frame))
    )
    missing: list[str] = []
    for item in instrument.items:
        if item.scale == "select_multiple":
            values, absent = coder.select_multiple(item)
            coded.update(values)
            missing.extend(absent)
        else:
            raw_column = columns.items.get(item.name)
            if raw_column is None:
                coded[item.name] = np.full(len(frame), np.nan)
                missing.append(item.name)
            else:
                coded[item.name] = coder.item_codes(item, raw_column, target=item.name)

    order = [name for name in ROLE_COLUMNS if name in coded]
    order += [name for name in coded if name not in ROLE_COLUMNS]
    result = pd.DataFrame({name: coded[name] for name in order})
    source_format = (
        "kobo" if columns.export_metadata and raw.format in ("csv", "xlsx") else raw.format
    )
    return CodedWave(
        frame=result,
        wave=str(result["wave"].iloc[0]),
        source_format=source_format,
        missing_items=tuple(missing),
        dropped_columns=columns.dropped,
        row_count=len(result),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Coder:
    raw: RawWave
    frame: pd.DataFrame
    rows: np.ndarray
    study: Study
    columns: ColumnMap

    @property
    def file(self) -> str:
        return self.raw.source.name

    @property
    def instrument(self) -> Instrument:
        return self.study.resolved_instrument()

    def place(self, column: str, target: str) -> Place:
        return Place(file=self.file, column=column, target=target, rows=self.rows)

    # -- roles -----------------------------------------------------------------------------
    def roles(self) -> dict[str, Any]:
        found = self.columns.roles
        coded: dict[str, Any] = {}
        for role in TEXT_ROLES:
            if role in found:
                coded[role] = self.text(found[role])
        if "arm" in found:
            coded["arm"], coded["treated"] = self.arm(found["arm"])
        if "weight" in found:
            coded["weight"] = self.weight(found["weight"])
        for role in ("interview_start", "interview_end"):
            if role in found:
                coded[role] = self.datetimes(found[role], role)
        if "consent" in found:
            coded["consent"] = self.consent(found["consent"])
        return coded

    def text(self, column: str, *, labelled: bool = False) -> pd.Series:
        """A role column as text (blank -> missing); with ``labelled`` codes become labels."""
        text = text_of(self.frame[column])
        labels = self.raw.value_labels.get(column) if labelled else None
        if labels:
            by_text = {_text_of_code(code): str(label) for code, label in labels.items()}
            text = text.map(lambda value: by_text.get(value, value))
        return text.where(text != "").astype("str")

    def arm(self, column: str) -> tuple[pd.Series, pd.Series]:
        arm = self.study.columns.arm
        if arm is None:
            raise IngestError("code_wave: the study declares no arm column; set columns.arm")
        text = self.text(column, labelled=True)
        valid = [*arm.treatment, *arm.comparison]
        canonical = {label.strip().casefold(): label for label in valid}
        arm_text = text.where(text.isin(valid), text.str.casefold().map(canonical))
        if arm.comparison:
            unknown = arm_text.isna().to_numpy()
        else:
            # Only campaign labels declared: every other label is the comparison.
            unknown = text.isna().to_numpy()
            arm_text = arm_text.fillna(text)
        if unknown.any():
            place = self.place(column, "arm")
            first = text[unknown].iloc[0]
            if isinstance(first, str):
                shown, same = shown_value(first), (text == first).to_numpy()
            else:
                shown, same = "no arm label", text.isna().to_numpy()
            count, row = place.first_rows(same)
            raise IngestError(
                f"code_wave: {place.described} holds {shown} in {count} row(s) (first at row "
                f"{row}); the study's arm labels are {valid}. Correct the export or add the "
                "label to columns.arm.treatment or columns.arm.comparison in the study file."
            )
        treated = _int8(arm_text.isin(arm.treatment).to_numpy(), arm_text.isna().to_numpy())
        return arm_text.astype("str"), treated

    def wave_name(self, argument: str | None) -> str:
        names = self.study.wave_names
        if "wave" in self.columns.roles:
            return self._wave_from_column(self.columns.roles["wave"], argument)
        if argument is not None:
            found = _wave_from_text(argument, names)
            if found is None:
                raise IngestError(
                    f"code_wave: wave {argument!r} is not a wave of study {self.study.id!r}; "
                    f"its waves are {names}. Pass one of them."
                )
            return found
        return _wave_from_file_name(self.raw.source.stem, names, self.file)

    def _wave_from_column(self, column: str, argument: str | None) -> str:
        names = self.study.wave_names
        text = self.text(column, labelled=True).dropna()
        place = self.place(column, "wave")
        values = pd.unique(text)
        mapped = {value: _wave_from_text(value, names) for value in values}
        unknown = [value for value, name in mapped.items() if name is None]
        if unknown:
            count, row = place.first_rows(
                (self.text(column, labelled=True) == unknown[0]).to_numpy()
            )
            raise IngestError(
                f"code_wave: {place.described} holds {shown_value(unknown[0])} in {count} "
                f"row(s) (first at row {row}), which is not a wave of the study; its waves are "
                f"{names}. Correct the export or declare the wave in [[waves]] of the study file."
            )
        waves = sorted({name for name in mapped.values() if name is not None}, key=names.index)
        if len(waves) > 1:
            counts = text.map(mapped).value_counts()
            shown = ", ".join(f"{name}: {int(counts[name])} rows" for name in waves)
            raise IngestError(
                f"code_wave: {place.described} holds {len(waves)} waves ({shown}); a file "
                "must hold one wave. Split the file into one file per wave and ingest each."
            )
        if not waves:
            if argument is not None:
                return self.wave_name_without_column(argument)
            raise IngestError(
                f"code_wave: {place.described} is blank in every row, so the wave is unknown; "
                f"the study's waves are {names}. Fill in the wave or pass wave=..."
            )
        if argument is not None and _wave_from_text(argument, names) != waves[0]:
            raise IngestError(
                f"code_wave: wave {argument!r} was asked for but {place.described} says "
                f"{waves[0]!r}. Pass the wave the file holds or correct the export."
            )
        return waves[0]

    def wave_name_without_column(self, argument: str) -> str:
        found = _wave_from_text(argument, self.study.wave_names)
        if found is None:
            raise IngestError(
                f"code_wave: wave {argument!r} is not a wave of study {self.study.id!r}; its "
                f"waves are {self.study.wave_names}. Pass one of them."
            )
        return found

    def weight(self, column: str) -> np.ndarray:
        place = self.place(column, "weight")
        weights = codes_from(
            self.frame[column],
            labels={},
            file_labels=None,
            place=place,
            describe_expected="a survey weight must be a number",
            fix="Correct the export: a decimal point, no thousands separators, blank if unknown.",
        )
        negative = weights < 0
        if negative.any():
            count, row = place.first_rows(negative)
            raise IngestError(
                f"code_wave: {place.described} holds a negative weight in {count} row(s) "
                f"(first at row {row}); a survey weight is zero or more. Correct the weights "
                "in the export (blank if unknown) and export the wave again."
            )
        return weights

    def datetimes(self, column: str, role: str) -> pd.Series:
        series = self.frame[column]
        place = self.place(column, role)
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            parsed = pd.to_datetime(series, utc=True)
        else:
            text = text_of(series)
            blank = (text == "").to_numpy()
            # Text time stamps are the rule: when the first value is no number the column holds
            # no Excel serials, and parsing every row as a number would be wasted work.
            first = np.flatnonzero(~blank)[:1]
            serials = len(first) > 0 and not np.isnan(_numbers(text.iloc[first])).any()
            numbers = _numbers(text) if serials else None
            if numbers is None or np.isnan(numbers[~blank]).any():
                parsed = _parse_text_times(text.where(~blank))
                failed = parsed.isna().to_numpy() & ~blank
                if failed.any():
                    count, row = place.first_rows(failed)
                    raise IngestError(
                        f"code_wave: {place.described} holds "
                        f"{shown_value(text[failed].iloc[0])} in {count} row(s) (first at row "
                        f"{row}), which is not a date and time. "
                        "Export the time stamps as ISO text (2025-01-20T09:12:33.000+00:00)."
                    )
            else:
                parsed = self.excel_serial_times(numbers, place)
        # Survey time stamps carry milliseconds at most; SPSS stores seconds as doubles.
        naive = parsed.dt.tz_convert("UTC").dt.tz_localize(None).dt.round("ms")
        return naive.astype("datetime64[us]").reset_index(drop=True)

    def excel_serial_times(self, values: np.ndarray, place: Place) -> pd.Series:
        """Days since 1899-12-30, as Excel stores a date cell that lost its format."""
        low, high = EXCEL_SERIAL_RANGE
        outside = ~np.isnan(values) & ((values < low) | (values > high))
        if outside.any():
            count, row = place.first_rows(outside)
            raise IngestError(
                f"code_wave: {place.described} holds the number "
                f"{show_number(values[outside][0])} in {count} row(s) (first at row {row}), "
                "which is not a date and time. Export the time stamps as ISO text "
                "(2025-01-20T09:12:33) or as date cells."
            )
        return pd.Series(pd.to_datetime(values, unit="D", origin="1899-12-30", utc=True))

    def consent(self, column: str) -> pd.Series:
        text = text_of(self.frame[column])
        wanted = label_key(_text_of_code(self.study.columns.consent_value))
        yes = {wanted, *YES_TEXT}
        for code, label in (self.raw.value_labels.get(column) or {}).items():
            if label_key(label) in yes:
                yes.add(label_key(_text_of_code(code)))
        positions, uniques = pd.factorize(text)
        agrees = np.array([label_key(value) in yes for value in uniques] + [False])
        return _int8(agrees[positions], (text == "").to_numpy())

    # -- items -----------------------------------------------------------------------------
    def special_codes(self, item: Item) -> dict[float, str]:
        """Code -> reason of the missing codes this item may hold."""
        merged = self.study.special_codes()
        codes: dict[float, str] = {}
        for reason in item.special_codes:
            for code in merged.get(reason, []):
                codes.setdefault(float(code), reason)
        for reason, study_codes in self.study.missing_codes.items():
            for code in study_codes:
                codes.setdefault(float(code), reason)
        return codes

    def labels(self, item: Item) -> dict[str, float]:
        """Normalised answer label -> code, for the item, its choices and the missing codes."""
        labels: dict[str, float] = {}
        for written, label in item.labels.items():
            labels.setdefault(label_key(label), float(written))
        if item.scale in ("binary", "select_multiple"):
            for text, number in (("yes", 1.0), ("no", 0.0), ("true", 1.0), ("false", 0.0)):
                labels.setdefault(text, number)
        special = self.instrument.special_codes
        reasons = [*item.special_codes, *(r for r in special if r not in item.special_codes)]
        for reason in reasons:
            if reason in special:
                code = special[reason].code
                labels.setdefault(label_key(special[reason].label), code)
                labels.setdefault(label_key(reason), code)
                labels.setdefault(label_key(reason.replace("_", " ")), code)
        for reason, codes in self.study.missing_codes.items():
            if codes:
                labels.setdefault(label_key(reason), float(codes[0]))
                labels.setdefault(label_key(reason.replace("_", " ")), float(codes[0]))
        return labels

    def describe_item(self, item: Item) -> str:
        special_labels = {name: code.label for name, code in self.instrument.special_codes.items()}
        specials = [
            (code, special_labels.get(reason, reason))
            for code, reason in sorted(self.special_codes(item).items())
        ]
        if item.labels:
            return describe_labels(item.labels, specials)
        if item.scale in ("binary", "select_multiple"):
            return describe_labels({"1": "Yes", "0": "No"}, specials)
        shown = describe_labels({}, specials)
        return f"item {item.name!r} takes numbers ({_allowed(item)}); {shown}"

    def item_codes(self, item: Item, column: str, *, target: str) -> np.ndarray:
        place = self.place(column, f"item {target!r}")
        labels = self.labels(item)
        self.check_file_labels(item, column, labels, place)
        values = codes_from(
            self.frame[column],
            labels=labels,
            file_labels=self.raw.value_labels.get(column),
            place=place,
            describe_expected=self.describe_item(item),
        )
        self.check_range(values, item, place, column)
        return values

    def check_file_labels(
        self, item: Item, column: str, labels: dict[str, float], place: Place
    ) -> None:
        """Refuse a file value label that turns a valid answer into a missing code.

        A survey firm's file that labels 1 "Don't know" on a 1-5 item would otherwise have
        every real answer of 1 recoded to missing.
        """
        file_labels = self.raw.value_labels.get(column) or {}
        if not file_labels:
            # No label in the file (a CSV export): nothing to check, and parsing the column
            # as numbers is most of the cost of coding it.
            return
        specials = self.special_codes(item)
        raw_values = pd.to_numeric(self.frame[column], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        for code, label in file_labels.items():
            target = labels.get(label_key(label))
            try:
                number = float(code)
            except (TypeError, ValueError):
                continue
            if target is None or target not in specials or number == target:
                continue
            if not _valid_answer(item, number):
                continue
            held = raw_values == number
            if not held.any():
                continue
            count, row = place.first_rows(held)
            raise IngestError(
                f"code_wave: {place.described}: the file labels the code "
                f"{show_number(number)} {label!r}, but {show_number(number)} is a valid answer "
                f"of item {item.name!r} ({_allowed(item)}); {count} row(s) hold it (first at "
                f"row {row}) and would become missing ({specials[target]}). Check the value "
                "labels of the export (they may be shifted) and export the wave again, or "
                "recode the column so that the label and the instrument agree."
            )

    def check_range(self, values: np.ndarray, item: Item, place: Place, column: str) -> None:
        if self.study.quality.out_of_range != "refuse":
            return
        specials = self.special_codes(item)
        present = ~np.isnan(values)
        valid = item.valid_codes
        if valid is not None:
            inside = np.isin(values, np.fromiter(valid, dtype="float64"))
        else:
            low, high = item.bounds
            inside = np.isfinite(values)
            if low is not None:
                inside &= values >= low
            if high is not None:
                inside &= values <= high
        inside |= np.isin(values, np.fromiter(specials, dtype="float64"))
        bad = present & ~inside
        if not bad.any():
            return
        first_value = values[np.flatnonzero(bad)[0]]
        count, row = place.first_rows(values == first_value)
        others = sorted(set(values[bad].tolist()) - {first_value})
        also = ""
        if others:
            listed = ", ".join(shown_value(v).strip("'") for v in others[:5])
            also = f" and {len(others)} other value(s) outside it ({listed})"
        declared = self.raw.user_missing.get(column) or []
        note = ""
        if any(_same_code(first_value, code) for code in declared):
            label = (self.raw.value_labels.get(column) or {}).get(first_value)
            named = f" labelled {label!r}" if label else ""
            note = f" ({self.file} declares it user-missing{named})"
        missing = ", ".join(
            f"{show_number(code)} ({reason})" for code, reason in sorted(specials.items())
        )
        shown = shown_value(first_value).strip("'")
        declare = shown if shown[0].isdigit() or shown[0] == "-" else "that value"
        raise IngestError(
            f"code_wave: {place.described} holds {shown}{note} in {count} "
            f"row(s) (first at row {row}){also}; the instrument allows {_allowed(item)} and the "
            f"missing codes [{missing}]. Declare {declare} as a missing code "
            "in the study file ([missing_codes]), correct the export, or set "
            'quality.out_of_range = "quarantine" to keep such values for review.'
        )

    def select_multiple(self, item: Item) -> tuple[dict[str, np.ndarray], list[str]]:
        """One 0/1 column per choice, from per-choice columns or the combined text column."""
        coded: dict[str, np.ndarray] = {}
        missing: list[str] = []
        combined_column = self.columns.combined.get(item.name)
        # With every choice column present the combined column only serves as a cross-check.
        complete = all(name in self.columns.items for name in item.stored_names())
        derived = (
            self.combined_choices(item, combined_column, strict=not complete)
            if combined_column is not None
            else None
        )
        for position, stored in enumerate(item.stored_names()):
            column = self.columns.items.get(stored)
            if column is not None:
                values = self.item_codes(item, column, target=stored)
                if derived is not None and combined_column is not None:
                    self.check_agreement(values, derived[:, position], combined_column, column)
                coded[stored] = values
            elif derived is not None:
                coded[stored] = derived[:, position]
            else:
                coded[stored] = np.full(len(self.frame), np.nan)
                missing.append(stored)
        return coded, missing

    def combined_choices(self, item: Item, column: str, *, strict: bool) -> np.ndarray | None:
        """Rows x choices from Kobo's combined column ('sold_goods borrowed').

        A value that is no list of choices raises when ``strict``, else gives None.
        """
        text = text_of(self.frame[column])
        place = self.place(column, f"item {item.name!r}")
        choices = list(item.choices)
        by_name = {choice.casefold(): position for position, choice in enumerate(choices)}
        by_label = {
            label_key(label): position for position, label in enumerate(item.choices.values())
        }
        labels = self.labels(item)
        specials = self.special_codes(item)
        blank = text.isin(BLANK_TEXT)
        codes, uniques = pd.factorize(text.where(~blank))
        table = np.full((len(uniques) + 1, len(choices)), np.nan)
        for index, value in enumerate(uniques):
            row = _parse_combined(str(value), by_name, by_label, labels, specials, len(choices))
            if row is None and not strict:
                return None
            if row is None:
                count, first = place.first_rows((text == value).to_numpy())
                raise IngestError(
                    f"code_wave: {place.described} holds {shown_value(value)} in {count} row(s) "
                    f"(first at row {first}), which is not a list of its choices; the choices are "
                    f"{choices} (labels {list(item.choices.values())}) separated by spaces. "
                    "Correct the export or export the choices as separate 0/1 columns."
                )
            table[index] = row
        return table[np.where(codes < 0, len(uniques), codes)]

    def check_agreement(
        self, split: np.ndarray, derived: np.ndarray, combined: str, column: str
    ) -> None:
        both = ~np.isnan(split) & ~np.isnan(derived)
        differ = both & (split != derived)
        if differ.any():
            place = self.place(column, "")
            count, row = place.first_rows(differ)
            position = np.flatnonzero(differ)[0]
            raise IngestError(
                f"code_wave: columns {combined!r} and {column!r} in {self.file} disagree in "
                f"{count} row(s) (first at row {row}: "
                f"{shown_value(self.frame[combined].iloc[position])} against "
                f"{show_number(split[position])}). Export the wave again; if one of the "
                "two is stale, remove it from the export."
            )


def _numbers(text: pd.Series) -> np.ndarray:
    """``text`` as floats, NaN where a value is no number."""
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _int8(values: np.ndarray, missing: np.ndarray) -> pd.Series:
    """An Int8 column of 1/0 with <NA> where ``missing``."""
    return pd.Series(pd.arrays.IntegerArray(values.astype("int8"), missing.astype(bool)))


def _text_of_code(code: object) -> str:
    return str(text_of(pd.Series([code], dtype=object)).iloc[0])


def _same_code(value: float, code: Any) -> bool:
    try:
        return float(code) == value
    except (TypeError, ValueError):
        return False


def _parse_combined(
    value: str,
    by_name: dict[str, int],
    by_label: dict[str, int],
    labels: dict[str, float],
    specials: dict[float, str],
    width: int,
) -> np.ndarray | None:
    tokens = value.split()
    chosen: list[int] | None = None
    if all(token.casefold() in by_name for token in tokens):
        chosen = [by_name[token.casefold()] for token in tokens]
    else:
        parts = [part for part in re.split(r"\s*[;,|]\s*", value) if part]
        keys = [label_key(part) for part in parts]
        if all(key in by_label or key in by_name for key in keys):
            chosen = [by_label.get(key, by_name.get(key, -1)) for key in keys]
    if chosen is not None:
        row = np.zeros(width)
        row[chosen] = 1.0
        return row
    try:
        number: float | None = float(value)
    except ValueError:
        number = labels.get(label_key(value))
    if number is not None and number in specials:
        return np.full(width, number)
    return None


def _valid_answer(item: Item, value: float) -> bool:
    """Whether ``value`` is an answer the item allows (within its bounds and codes)."""
    valid = item.valid_codes
    if valid is not None:
        return value in valid
    low, high = item.bounds
    # An open-ended number (no upper bound) may use 999 for "don't know": no conflict.
    return low is not None and high is not None and low <= value <= high


def _allowed(item: Item) -> str:
    valid = item.valid_codes
    low, high = item.bounds
    if item.scale == "categorical" and valid is not None:
        return "the codes [" + ", ".join(show_number(v) for v in sorted(valid)) + "]"
    if low is not None and high is not None:
        return f"{show_number(low)}-{show_number(high)}"
    if low is not None:
        return f"numbers from {show_number(low)} up"
    return "any number"


def _wave_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().casefold())


def _wave_from_text(text: str, names: list[str]) -> str | None:
    key = _wave_key(text)
    for name in names:
        if key == name or key.replace("_", "") == name.replace("_", ""):
            return name
    return None


def _wave_from_file_name(stem: str, names: list[str], file: str) -> str:
    key = _wave_key(stem).replace(".", "_")
    found = [
        name
        for name in names
        if re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", key)
        or re.search(rf"(?<![a-z]){re.escape(name.replace('_', ''))}(?![a-z])", key)
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise IngestError(
            f"code_wave: cannot tell which wave {file} holds; its name contains none of the "
            f"study's waves {names} and the study declares no wave column. Rename the file "
            "(for example baseline.csv), pass wave=..., or set columns.wave in the study file."
        )
    raise IngestError(
        f"code_wave: the name of {file} contains several waves ({found}); the wave is "
        "ambiguous. Rename the file so that it names one wave, or pass wave=..."
    )


def _parse_text_times(text: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(text, format="ISO8601", utc=True)
    except (ValueError, TypeError):
        pass  # not all ISO 8601 (Excel and survey firms mix formats): parse each value
    try:
        return pd.to_datetime(text, format="mixed", utc=True)
    except (ValueError, TypeError):
        return pd.to_datetime(text, format="mixed", utc=True, errors="coerce")
