"""The study file: design, column roles, waves, instrument, outcomes, privacy and locations."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from flows.assumptions import AssumptionDeclaration
from flows.errors import StudyFileError, format_validation_error
from flows.instrument import Construct, Instrument, Item, SpecialCode, load_instrument
from flows.locations import check_locations


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Assignment = Literal[
    "individually_randomised", "cluster_randomised", "quasi_experimental", "pre_post"
]
ASSIGNMENTS: tuple[str, ...] = (
    "individually_randomised",
    "cluster_randomised",
    "quasi_experimental",
    "pre_post",
)


class Design(_Strict):
    """How the campaign was assigned and how respondents were sampled.

    ``individually_randomised``: each respondent was assigned (no cluster column needed;
    heteroskedasticity-robust errors). ``cluster_randomised``: whole clusters (communities,
    schools) were assigned (cluster-robust errors, the wild cluster bootstrap).
    ``quasi_experimental``: campaign and comparison groups were not randomised.
    ``pre_post``: everyone was surveyed before and after, no comparison group.
    """

    assignment: Assignment
    sampling: Literal["panel", "repeated_cross_section"]
    unit_of_assignment: str | None = Field(
        default=None,
        description=(
            "the column role the campaign was assigned on; respondent for an individually "
            "randomised study, else cluster"
        ),
    )
    minimum_cell_size: int = Field(default=10, ge=1, description="smallest cell ever published")

    @property
    def assigned_unit(self) -> str:
        """The role the campaign was assigned on (``respondent`` or ``cluster``)."""
        if self.unit_of_assignment is not None:
            return self.unit_of_assignment
        return "respondent" if self.assignment == "individually_randomised" else "cluster"

    @property
    def has_comparison(self) -> bool:
        """Whether the design has a comparison group (every design but pre/post)."""
        return self.assignment != "pre_post"


class Arm(_Strict):
    """The arm column and which of its values mean campaign and comparison."""

    column: str
    treatment: list[str] = Field(min_length=1)
    comparison: list[str] = Field(default_factory=list)


class Columns(_Strict):
    """Which raw column plays which role. Optional roles may be absent from a study."""

    respondent: str
    cluster: str | None = None
    stratum: str | None = None
    arm: Arm | None = None
    wave: str | None = Field(
        default=None, description="a column holding the wave name; else the file tells"
    )
    weight: str | None = None
    exposure: str | None = None
    enumerator: str | None = None
    interview_start: str | None = None
    interview_end: str | None = None
    submission: str | None = None
    consent: str | None = None
    consent_value: str = "1"


class Wave(_Strict):
    """One survey round, in fieldwork order."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    fieldwork_start: date | None = None
    fieldwork_end: date | None = None

    @model_validator(mode="after")
    def _check_dates(self) -> Wave:
        if (
            self.fieldwork_start
            and self.fieldwork_end
            and self.fieldwork_end < self.fieldwork_start
        ):
            raise ValueError(f"wave {self.name!r}: fieldwork_end is before fieldwork_start")
        return self


def _default_special_codes() -> dict[str, SpecialCode]:
    return {
        "dont_know": SpecialCode(code=-88, label="Don't know"),
        "refused": SpecialCode(code=-99, label="Refused to answer"),
    }


class InstrumentRef(_Strict):
    """The instrument a study uses: a base it extends, or only its own items.

    With ``base`` the study inherits the base instrument (its items, codes and defaults) and
    adds or replaces items; without it, the study's own ``constructs``, ``items`` and
    ``special_codes`` are the whole instrument and nothing of a bundled one applies.
    """

    base: str | None = Field(
        default=None,
        description="a bundled instrument name or a path relative to the study; none: own only",
    )
    special_codes: dict[str, SpecialCode] = Field(
        default_factory=dict,
        description=(
            "codes meaning a missing answer, by reason; an instrument without a base starts "
            "from dont_know = -88 and refused = -99"
        ),
    )
    constructs: list[Construct] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    drop_items: list[str] = Field(
        default_factory=list, description="items of the base the study did not field"
    )


class Outcomes(_Strict):
    """Pre-specified outcomes: primary ones and families for multiple-testing control."""

    primary: list[str] = Field(default_factory=list)
    families: dict[str, list[str]] = Field(default_factory=dict)
    primary_wave: str | None = Field(
        default=None,
        description=(
            "the follow-up wave whose effects answer the pre-specified questions (the "
            "report's scorecard and forest plot); the latest wave when not given"
        ),
    )
    not_applicable_as_zero: list[str] = Field(
        default_factory=list,
        description=(
            "binary cascade steps asked only after a 'yes' to the step before: their "
            "'not applicable' code counts as 0 (no plan, no preparations) in the analysis"
        ),
    )
    sesoi: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "smallest effect size of interest per outcome, in standard deviations of the "
            "comparison arm at baseline: estimates within ±SESOI can be shown equivalent to "
            "no effect (two one-sided tests)"
        ),
    )

    @model_validator(mode="after")
    def _check_sesoi(self) -> Outcomes:
        for name, value in self.sesoi.items():
            if not value > 0:
                raise ValueError(
                    f"outcomes.sesoi.{name}: {value!r} is not a positive number of standard "
                    "deviations; declare for example 0.2"
                )
        return self


class Reading(_Strict):
    """How to read this study's exports."""

    sheet: str | None = Field(default=None, description="the XLSX sheet holding the data")
    rename: dict[str, str] = Field(
        default_factory=dict, description="raw column name -> instrument item or role column"
    )


class ContradictionRule(_Strict):
    """Two answers that cannot go together: ``item`` equal to ``equals`` with ``other_item``
    in ``other_values`` (special codes such as -77 are compared as written, never as numbers)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    item: str
    equals: float
    other_item: str
    other_values: list[float] = Field(min_length=1)

    def describe(self) -> str:
        values = ", ".join(f"{value:g}" for value in self.other_values)
        return f"{self.name}: {self.item} = {self.equals:g} with {self.other_item} in [{values}]"


class Quality(_Strict):
    """Thresholds for field-quality checks."""

    out_of_range: Literal["refuse", "quarantine"] = Field(
        default="refuse",
        description=(
            "refuse: a value neither in range nor a declared code stops ingestion; "
            "quarantine: it is stored as missing (reason 'out_of_range') and its row is "
            "quarantined by validation"
        ),
    )
    minimum_duration_minutes: float = 10.0
    speeder_fraction_of_median: float = 0.33
    straightlining_batteries: list[str] = Field(
        default_factory=list,
        description="constructs or domains whose likert items are checked for straight lines",
    )
    maximum_dont_know_rate: float = 0.3
    minimum_age: int | None = None
    maximum_age: int | None = None
    age_item: str | None = Field(
        default=None, description="the item holding the age that minimum_age/maximum_age check"
    )
    near_duplicates: bool = Field(
        default=True,
        description="look for interviews with near-identical answers (false: switched off)",
    )
    duplicate_similarity: float = Field(
        default=0.97,
        gt=0.5,
        le=1.0,
        description=(
            "share of equal answers, among the items answered in both interviews, above which "
            "two interviews are near-duplicates"
        ),
    )
    duplicate_minimum_items: int = Field(
        default=10,
        ge=1,
        description="items answered in both interviews needed before they can be near-duplicates",
    )
    maximum_quarantine_share: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description=(
            "a row-level check that would quarantine more than this share of a wave stops the "
            "wave instead (the check, not the data, is then likely wrong for this questionnaire)"
        ),
    )
    straightlining_minimum_items: int = Field(
        default=5, ge=2, description="answered battery items needed to call a straight line"
    )
    enumerator_outlier_z: float = Field(
        default=4.0, gt=0, description="robust z-score beyond which an enumerator is an outlier"
    )
    enumerator_minimum_interviews: int = Field(
        default=10, ge=2, description="interviews an enumerator needs to be compared to peers"
    )
    contradictions: list[ContradictionRule] = Field(default_factory=list)
    minimum_found_at_baseline: float = Field(
        default=0.8, ge=0, le=1, description="share of later-wave respondents seen at baseline"
    )
    maximum_follow_up_gap: float = Field(
        default=0.05, ge=0, le=1, description="largest accepted gap in follow-up rates of arms"
    )
    minimum_panel_link_share: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="share of a later panel wave's ids that must match the baseline's, else "
        "ingestion stops (a changed key or ids that lost their leading zeros)",
    )


class Inference(_Strict):
    """Which inference the study's p-values and intervals come from: a design decision.

    Below ``few_clusters_below`` clusters the primary p-value and interval of every estimate
    (the ones q-values, step-downs and verdicts read) come from ``few_clusters_method``; from
    that many on, from ``many_clusters_method``. Designs without clusters read HC2.
    """

    few_clusters_below: int = Field(
        default=42, ge=2, description="below this many clusters use few_clusters_method"
    )
    few_clusters_method: Literal["cr2", "wild_bootstrap"] = Field(
        default="cr2",
        description="CR2 with Satterthwaite df, or the wild cluster restricted bootstrap",
    )
    many_clusters_method: Literal["cr1", "cr2"] = Field(
        default="cr1", description="CR1 with t(G-1), or CR2 with Satterthwaite df"
    )
    assignment_record: str | None = Field(
        default=None,
        description=(
            "the assignment JSON written by `trustshift assign` (relative to the study file): "
            "randomization inference re-draws only assignments its recorded rule accepts"
        ),
    )

    def vcov_for(self, n_clusters: int) -> Literal["CR1", "CR2"]:
        """The variance of Wald tests and group effects for a design with G clusters.

        The bootstrap does not give joint tests, so with few clusters they use CR2 (HTZ).
        """
        if n_clusters < self.few_clusters_below or self.many_clusters_method == "cr2":
            return "CR2"
        return "CR1"


class HeterogeneityDimension(_Strict):
    """A split of respondents by their baseline answer to a categorical item.

    Respondents whose baseline answer to ``item`` is one of ``codes`` form the group
    ``label``; every other valid answer forms ``others``. Effects are estimated in each group
    with their difference, for the primary outcomes and ``outcomes``.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    item: str
    codes: list[float] = Field(min_length=1)
    label: str
    others: str = "others"
    outcomes: list[str] = Field(
        default_factory=list, description="outcomes beside the primary ones to split"
    )


class Analysis(_Strict):
    """Which items play which analytic role; nothing is assumed from an item's name."""

    balance_covariates: list[str] = Field(
        default_factory=list,
        description="background items compared between arms at baseline, beside the outcomes",
    )
    propensity_covariates: list[str] = Field(
        default_factory=list,
        description="pre-exposure items of the propensity score (quasi-experimental studies)",
    )
    heterogeneity: list[HeterogeneityDimension] = Field(default_factory=list)
    trust_gap: list[str] = Field(
        default_factory=list,
        max_length=2,
        description="two trust constructs whose difference the trust table shows (first - second)",
    )


class Locations(_Strict):
    """Where the study keeps its files, relative to the study file."""

    inbox: str = "inbox"
    archive: str = "raw"
    warehouse: str = "warehouse/trustshift.duckdb"
    allow_outside: bool = Field(
        default=False,
        description="accept absolute locations outside the study folder ('..' never is)",
    )
    inbox_settle_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="an inbox file modified this recently must keep its size and time that "
        "long before a run takes it (a file still being copied is left for the next run)",
    )


class ReportSettings(_Strict):
    """What the report step writes beside the HTML report."""

    pdf: bool = Field(
        default=True,
        description="also print the report to report.pdf with Chromium; without Chromium the "
        "report step fails unless this is false (then it logs that no PDF was written)",
    )


class WarehouseSettings(_Strict):
    """A warehouse on a PostgreSQL server instead of the study's DuckDB file."""

    url: str | None = Field(
        default=None,
        description="a PostgreSQL database, postgresql://user@host:5432/database; the "
        "password comes from PGPASSWORD or ~/.pgpass, never from the study file",
    )

    @model_validator(mode="after")
    def _check_url(self) -> WarehouseSettings:
        if self.url is None:
            return self
        parts = urlsplit(self.url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(
                f"warehouse.url must start with postgresql://; found scheme {parts.scheme!r}. "
                "Give a PostgreSQL URL such as 'postgresql://trustshift@db-host:5432/"
                "trustshift', or remove [warehouse] to use the DuckDB file."
            )
        if parts.password is not None or "password=" in parts.query:
            raise ValueError(
                "warehouse.url holds a password; study files are shared and committed. Remove "
                "it from the URL and give it in PGPASSWORD or ~/.pgpass (or the whole URL in "
                "TRUSTSHIFT_WAREHOUSE_URL)."
            )
        return self


class Study(_Strict):
    """Everything trustshift needs to know about one evaluation."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    design: Design
    columns: Columns
    waves: list[Wave] = Field(min_length=1)
    instrument: InstrumentRef
    outcomes: Outcomes = Field(default_factory=Outcomes)
    pii: list[str] = Field(default_factory=list, description="identifying columns to drop")
    missing_codes: dict[str, list[float]] = Field(
        default_factory=dict,
        description="study-wide extra codes per reason, e.g. dont_know = [-88, 888]",
    )
    reading: Reading = Field(default_factory=Reading)
    quality: Quality = Field(default_factory=Quality)
    analysis: Analysis = Field(default_factory=Analysis)
    inference: Inference = Field(default_factory=Inference)
    locations: Locations = Field(default_factory=Locations)
    report: ReportSettings = Field(default_factory=ReportSettings)
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    assumptions: list[AssumptionDeclaration] | None = Field(
        default=None,
        description=(
            "which outcomes bear on each assumption of the scorecard; the instrument's "
            "defaults (data/assumptions/) when not given, none with an empty list"
        ),
    )

    _path: Path | None = PrivateAttr(default=None)
    _instrument: Instrument | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_waves(self) -> Study:
        names = [wave.name for wave in self.waves]
        if len(set(names)) != len(names):
            raise ValueError(f"waves: a wave name is repeated in {names}")
        primary = self.outcomes.primary_wave
        if primary is not None and primary not in names[1:]:
            raise ValueError(
                f"outcomes.primary_wave: {primary!r} is not a wave after the baseline; "
                f"choose one of {names[1:]}"
            )
        if self.design.assignment != "pre_post" and self.columns.arm is None:
            raise ValueError(
                f"columns.arm: a {self.design.assignment} study needs the arm column and its "
                "treatment and comparison values"
            )
        if self.design.assignment == "cluster_randomised" and self.columns.cluster is None:
            raise ValueError(
                "columns.cluster: a cluster_randomised study needs the column naming each "
                "respondent's cluster (community, school); if respondents were assigned one "
                'by one, set design.assignment = "individually_randomised"'
            )
        return self

    @property
    def clustered(self) -> bool:
        """Whether inference clusters on ``columns.cluster``.

        Cluster-randomised studies always do; an individually randomised one never does (its
        errors are heteroskedasticity-robust); quasi-experimental and pre/post studies do
        when they name a cluster column.
        """
        if self.design.assignment == "individually_randomised":
            return False
        return self.columns.cluster is not None

    # -- resolved views -------------------------------------------------------------
    @property
    def path(self) -> Path:
        if self._path is None:
            raise StudyFileError("Study: this study was not loaded from a file; use load_study")
        return self._path

    @property
    def root(self) -> Path:
        """The folder holding the study file; locations are relative to it."""
        return self.path.parent

    @property
    def inbox(self) -> Path:
        return self.root / self.locations.inbox

    @property
    def archive(self) -> Path:
        return self.root / self.locations.archive

    @property
    def wave_names(self) -> list[str]:
        return [wave.name for wave in self.waves]

    @cached_property
    def file_hash(self) -> str:
        """SHA-256 of the study file's bytes (part of every run's record)."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def resolved_instrument(self) -> Instrument:
        """The base instrument with the study's additions and omissions applied."""
        if self._instrument is None:
            base_ref = self.instrument.base
            if base_ref is None:
                base = Instrument(
                    id=self.id,
                    title=self.title,
                    special_codes=_default_special_codes(),
                    constructs=[],
                    items=[],
                )
                if not self.instrument.items:
                    raise StudyFileError(
                        f"{self._path}: [instrument] names no base and declares no item; set "
                        'instrument.base (for example base = "migration_campaign") or declare '
                        "the study's items under [[instrument.items]]"
                    )
            else:
                candidate = (self.root / base_ref) if self._path else Path(base_ref)
                base = load_instrument(candidate if candidate.suffix else base_ref)
            try:
                merged = base.extended(
                    list(self.instrument.constructs),
                    list(self.instrument.items),
                    dict(self.instrument.special_codes),
                )
            except ValidationError as error:
                raise StudyFileError(
                    format_validation_error(f"{self._path} [instrument]", error)
                ) from None
            if self.instrument.drop_items:
                unknown = set(self.instrument.drop_items) - set(merged.item_names)
                if unknown:
                    raise StudyFileError(
                        f"{self._path}: instrument.drop_items names unknown items "
                        f"{sorted(unknown)}; remove them"
                    )
                kept = [i for i in merged.items if i.name not in self.instrument.drop_items]
                merged = Instrument.model_validate(
                    {**merged.model_dump(), "items": [i.model_dump() for i in kept]}
                )
            self._check_outcomes(merged)
            self._instrument = merged
        return self._instrument

    def _check_outcomes(self, instrument: Instrument) -> None:
        for name in self.outcomes.not_applicable_as_zero:
            if name not in instrument.item_names or instrument.item(name).scale != "binary":
                raise StudyFileError(
                    f"{self._path}: outcomes.not_applicable_as_zero names {name!r}, which is "
                    "not a binary item of the instrument; list only yes/no cascade steps"
                )
        declared = list(self.outcomes.primary)
        for members in self.outcomes.families.values():
            declared.extend(members)
        constructs = {c.name for c in instrument.constructs}
        for name in declared:
            if name in constructs:
                continue
            if name not in instrument.item_names:
                raise StudyFileError(
                    f"{self._path}: outcome {name!r} is neither an item nor a construct of the "
                    "instrument; declare it under [[instrument.items]] or fix the name"
                )
            if not instrument.item(name).is_numeric:
                raise StudyFileError(
                    f"{self._path}: outcome {name!r} is a {instrument.item(name).scale} item; "
                    "an outcome must be numeric, binary or ordinal"
                )

    def _check_analysis(self, instrument: Instrument) -> None:
        """Every item the study file names in [analysis] and [quality] is an instrument item."""
        names = set(instrument.item_names)
        analysis = self.analysis
        for key in ("balance_covariates", "propensity_covariates"):
            for name in getattr(analysis, key):
                if name not in names or not instrument.item(name).is_numeric:
                    raise StudyFileError(
                        f"{self._path}: analysis.{key} names {name!r}, which is not a numeric, "
                        "binary or ordinal item of the instrument; name a declared item"
                    )
        for dimension in analysis.heterogeneity:
            if dimension.item not in names:
                raise StudyFileError(
                    f"{self._path}: analysis.heterogeneity {dimension.name!r} splits on "
                    f"{dimension.item!r}, which is not an item of the instrument; name a "
                    "declared categorical item"
                )
        age_item = self.quality.age_item
        if age_item is not None and age_item not in names:
            raise StudyFileError(
                f"{self._path}: quality.age_item names {age_item!r}, which is not an item of "
                "the instrument; name the age item or remove the key"
            )
        if (
            self.quality.minimum_age is not None or self.quality.maximum_age is not None
        ) and age_item is None:
            raise StudyFileError(
                f"{self._path}: quality.minimum_age/maximum_age are set but quality.age_item "
                "is not; name the item holding the respondent's age"
            )
        for rule in self.quality.contradictions:
            for name in (rule.item, rule.other_item):
                if name not in names:
                    raise StudyFileError(
                        f"{self._path}: quality.contradictions {rule.name!r} names {name!r}, "
                        "which is not an item of the instrument; fix the rule or remove it"
                    )

    def special_codes(self) -> dict[str, list[float]]:
        """Reason -> every code meaning it, instrument codes and study-wide codes together."""
        instrument = self.resolved_instrument()
        merged: dict[str, list[float]] = {
            name: [code.code] for name, code in instrument.special_codes.items()
        }
        for reason, codes in self.missing_codes.items():
            merged.setdefault(reason, [])
            merged[reason].extend(c for c in codes if c not in merged[reason])
        return merged


def load_study(path: str | Path) -> Study:
    """Read and validate a study file (TOML); every problem is reported with its key path."""
    path = Path(path).resolve()
    if path.is_dir():
        path = path / "study.toml"
    if not path.is_file():
        raise StudyFileError(
            f"load_study: no study file at {str(path)!r}. Give the path to a study TOML file "
            "(see data/studies/example/study.toml) or create one with `trustshift init`."
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise StudyFileError(
            f"load_study: {path} is not valid TOML ({error}). Fix the syntax."
        ) from None
    except UnicodeDecodeError:
        raise StudyFileError(f"load_study: {path} is not UTF-8 text. Save it as UTF-8.") from None
    try:
        study = Study.model_validate(raw)
    except Exception as error:
        raise StudyFileError(format_validation_error(path, error)) from None
    study._path = path
    check_locations(
        path.parent,
        study.locations.model_dump(include={"inbox", "archive", "warehouse"}),
        allow_outside=study.locations.allow_outside,
    )
    instrument = study.resolved_instrument()
    defaults = instrument.defaults
    if defaults.quality or defaults.analysis:
        merged = dict(raw)
        for section, given in (("quality", defaults.quality), ("analysis", defaults.analysis)):
            applicable = _applicable_defaults(section, given, instrument)
            merged[section] = {**applicable, **raw.get(section, {})}
        try:
            study = Study.model_validate(merged)
        except Exception as error:
            raise StudyFileError(
                format_validation_error(f"{path} (with the defaults of {instrument.id!r})", error)
            ) from None
        study._path = path
        study._instrument = instrument
    study._check_analysis(instrument)
    return study


def _applicable_defaults(
    section: str, defaults: dict[str, Any], instrument: Instrument
) -> dict[str, Any]:
    """The instrument's defaults for one section, less those naming items the study dropped."""
    names = set(instrument.item_names)
    kept = dict(defaults)
    if section == "quality":
        if kept.get("age_item") not in (None, *names):
            for key in ("age_item", "minimum_age", "maximum_age"):
                kept.pop(key, None)
        if "contradictions" in kept:
            kept["contradictions"] = [
                rule
                for rule in kept["contradictions"]
                if rule.get("item") in names and rule.get("other_item") in names
            ]
        return kept
    for key in ("balance_covariates", "propensity_covariates"):
        if key in kept:
            kept[key] = [name for name in kept[key] if name in names]
    if "heterogeneity" in kept:
        kept["heterogeneity"] = [
            dimension for dimension in kept["heterogeneity"] if dimension.get("item") in names
        ]
    return kept
