"""The survey instrument: items grouped into constructs, with scales and special codes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flows.bundled import INSTRUMENTS_DIR
from flows.errors import StudyFileError, format_validation_error

ScaleKind = Literal[
    "likert",  # ordered codes minimum..maximum with a direction
    "percentage",  # "out of 100 people like you", 0-100
    "binary",  # 0/1
    "categorical",  # unordered codes with labels
    "select_multiple",  # several choices; stored as one 0/1 item per choice
    "count",  # non-negative integer
    "money",  # non-negative amount, decimals allowed
    "continuous",  # any real number (a mean of items, a score), optional minimum/maximum
]

# Scales whose values can be analysed as numbers (outcomes, indices, balance).
NUMERIC_SCALES: frozenset[str] = frozenset(
    {"likert", "percentage", "binary", "count", "money", "continuous"}
)

SELECT_MULTIPLE_SEPARATOR = "__"

SHORT_QUESTION = 80
"""Longest question that serves as an item's label when the instrument gives none."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpecialCode(_Strict):
    """A code that means the answer is missing, with why."""

    code: float
    label: str


class Construct(_Strict):
    """A latent quantity measured by one or more items."""

    name: str
    label: str
    domain: str = Field(
        description="The area of the construct: trust, risk, knowledge, intention, ..."
    )
    description: str = ""


class Item(_Strict):
    """One question of the instrument."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True
    )

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    # Spelled `construct` in files; BaseModel already has a `construct` method.
    construct_name: str = Field(alias="construct")
    scale: ScaleKind
    question: str
    label: str = Field(
        default="",
        description="short label the report names the item by (the question stays in the methods)",
    )
    minimum: float | None = None
    maximum: float | None = None
    # "positive": a higher code means more of the construct; "negative": reverse-code it.
    direction: Literal["positive", "negative"] = "positive"
    labels: dict[str, str] = Field(
        default_factory=dict, description="code (as text) -> answer label"
    )
    choices: dict[str, str] = Field(
        default_factory=dict, description="select_multiple: choice name -> label"
    )
    special_codes: list[str] = Field(
        default_factory=lambda: ["dont_know", "refused"],
        description="names from the instrument's special_codes table",
    )
    true_value: float | None = Field(default=None, description="benchmark for a risk belief")
    correct_answer: float | None = Field(default=None, description="answer key of a quiz item")

    @property
    def short_label(self) -> str:
        """The item's name for readers: its ``label``, else a question of at most
        :data:`SHORT_QUESTION` characters, else its name in words."""
        if self.label:
            return self.label
        if len(self.question) <= SHORT_QUESTION:
            return self.question
        return self.name.replace("_", " ").capitalize()

    @model_validator(mode="after")
    def _check_scale(self) -> Item:
        where = f"item {self.name!r}"
        if self.scale == "likert" and (
            self.minimum is None or self.maximum is None or self.minimum >= self.maximum
        ):
            raise ValueError(f"{where}: a likert item needs minimum < maximum")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"{where}: minimum {self.minimum:g} is above maximum {self.maximum:g}")
        if self.scale in ("categorical",) and not self.labels:
            raise ValueError(f"{where}: a categorical item needs labels (code -> label)")
        if self.scale == "select_multiple" and not self.choices:
            raise ValueError(f"{where}: a select_multiple item needs choices")
        for code in self.labels:
            try:
                float(code)
            except ValueError:
                raise ValueError(
                    f"{where}: label key {code!r} is not a numeric code; write codes as "
                    "'1' = 'Strongly disagree'"
                ) from None
        return self

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """The valid range of non-missing answers, from the scale."""
        if self.scale == "percentage":
            return (
                0.0 if self.minimum is None else self.minimum,
                100.0 if self.maximum is None else self.maximum,
            )
        if self.scale in ("binary", "select_multiple"):
            return (0.0, 1.0)
        if self.scale in ("count", "money"):
            return (0.0 if self.minimum is None else self.minimum, self.maximum)
        return (self.minimum, self.maximum)

    @property
    def valid_codes(self) -> frozenset[float] | None:
        """The closed set of valid codes, or None when the scale is a range."""
        if self.scale == "categorical":
            return frozenset(float(code) for code in self.labels)
        if self.scale in ("binary", "select_multiple"):
            return frozenset({0.0, 1.0})
        if self.scale == "likert" and self.minimum is not None and self.maximum is not None:
            return frozenset(float(v) for v in range(int(self.minimum), int(self.maximum) + 1))
        return None

    @property
    def is_numeric(self) -> bool:
        """Whether the item can be an outcome (numeric, binary or ordinal)."""
        return self.scale in NUMERIC_SCALES

    def stored_names(self) -> list[str]:
        """The column names this item takes in a coded wave (one per choice if multiple)."""
        if self.scale == "select_multiple":
            return [f"{self.name}{SELECT_MULTIPLE_SEPARATOR}{choice}" for choice in self.choices]
        return [self.name]


class InstrumentDefaults(_Strict):
    """Study-file settings that a study using this instrument gets unless it sets them.

    ``quality`` holds ``[quality]`` keys (an age item and its limits, the batteries checked
    for straight lines, contradiction rules), ``analysis`` holds ``[analysis]`` keys (balance
    and propensity covariates, heterogeneity dimensions): each names the instrument's own
    items, so they belong with the instrument, and a study's own value replaces them key by
    key.
    """

    quality: dict[str, Any] = Field(default_factory=dict)
    analysis: dict[str, Any] = Field(default_factory=dict)


class Instrument(_Strict):
    """A questionnaire: constructs, items and the special codes they use."""

    id: str
    title: str
    version: str = "1"
    special_codes: dict[str, SpecialCode] = Field(default_factory=dict)
    constructs: list[Construct]
    items: list[Item]
    defaults: InstrumentDefaults = Field(default_factory=InstrumentDefaults)

    @model_validator(mode="after")
    def _check_references(self) -> Instrument:
        construct_names = [c.name for c in self.constructs]
        _reject_duplicates(construct_names, "construct")
        _reject_duplicates([i.name for i in self.items], "item")
        codes = [c.code for c in self.special_codes.values()]
        _reject_duplicates([str(c) for c in codes], "special code value")
        for item in self.items:
            if item.construct_name not in construct_names:
                raise ValueError(
                    f"item {item.name!r}: construct {item.construct_name!r} is not declared; "
                    f"add it to [[constructs]] (declared: {construct_names})"
                )
            for name in item.special_codes:
                if name not in self.special_codes:
                    raise ValueError(
                        f"item {item.name!r}: special code {name!r} is not declared; "
                        f"declared: {sorted(self.special_codes)}"
                    )
        return self

    def item(self, name: str) -> Item:
        """The item called ``name``."""
        for item in self.items:
            if item.name == name:
                return item
        raise KeyError(f"instrument {self.id!r} has no item {name!r}")

    @property
    def item_names(self) -> list[str]:
        return [item.name for item in self.items]

    def items_of(self, construct: str) -> list[Item]:
        """The items measuring ``construct``, in instrument order."""
        return [item for item in self.items if item.construct_name == construct]

    def special_codes_of(self, item: Item) -> dict[float, str]:
        """Special code value -> reason name, for one item."""
        return {self.special_codes[name].code: name for name in item.special_codes}

    def extended(
        self,
        constructs: list[Construct],
        items: list[Item],
        special_codes: dict[str, SpecialCode] | None = None,
    ) -> Instrument:
        """A copy with more constructs, items and special codes; one of the same name replaces."""
        replaced = {item.name for item in items}
        merged_items = [item for item in self.items if item.name not in replaced] + items
        known = {c.name for c in self.constructs}
        merged_constructs = list(self.constructs) + [c for c in constructs if c.name not in known]
        codes = {**self.special_codes, **(special_codes or {})}
        return Instrument.model_validate(
            {
                **self.model_dump(),
                "special_codes": {name: code.model_dump() for name, code in codes.items()},
                "constructs": [c.model_dump() for c in merged_constructs],
                "items": [i.model_dump() for i in merged_items],
            }
        )


def _reject_duplicates(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what} {name!r} is declared twice; keep one")
        seen.add(name)


def load_instrument(reference: str | Path) -> Instrument:
    """Load an instrument by name (from ``data/instruments``) or by path to a TOML file."""
    path = Path(reference)
    if not path.suffix:
        path = INSTRUMENTS_DIR / f"{reference}.toml"
    if not path.is_file():
        available = sorted(p.stem for p in INSTRUMENTS_DIR.glob("*.toml"))
        raise StudyFileError(
            f"load_instrument: no instrument file {str(path)!r}. "
            f"Name a bundled instrument ({available}) or give the path to a TOML file."
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise StudyFileError(
            f"load_instrument: {path} is not valid TOML ({error}). Fix the syntax."
        ) from None
    base_reference = raw.pop("base", None)
    try:
        if base_reference is None:
            return Instrument.model_validate(raw)
        # An instrument inherits another only when it says so (`base = ...`).
        unknown = set(raw) - set(Instrument.model_fields)
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)}; remove them")
        reference = str(base_reference)
        base = load_instrument(path.parent / reference if Path(reference).suffix else reference)
        merged = base.extended(
            [Construct.model_validate(c) for c in raw.get("constructs", [])],
            [Item.model_validate(i) for i in raw.get("items", [])],
            {n: SpecialCode.model_validate(c) for n, c in raw.get("special_codes", {}).items()},
        )
        own = InstrumentDefaults.model_validate(raw.get("defaults", {}))
        defaults = {
            "quality": {**base.defaults.quality, **own.quality},
            "analysis": {**base.defaults.analysis, **own.analysis},
        }
        return Instrument.model_validate(
            {
                **merged.model_dump(),
                "id": raw.get("id", base.id),
                "title": raw.get("title", base.title),
                "version": raw.get("version", base.version),
                "defaults": defaults,
            }
        )
    except Exception as error:  # pydantic.ValidationError or a validator's ValueError
        raise StudyFileError(format_validation_error(path, error)) from None
