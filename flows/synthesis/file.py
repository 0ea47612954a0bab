"""The synthesis file (TOML): which studies to pool, which outcomes, moderators, assumptions."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flows.errors import StudyFileError, format_validation_error
from flows.instrument import load_instrument

ASSUMPTION_DEFAULTS = Path(__file__).resolve().parent.parent.parent / "data" / "assumptions"
MODERATORS: tuple[str, ...] = (
    "region",
    "country",
    "campaign_type",
    "messenger",
    "channel",
    "months_since_campaign",
    "design",
)
"""The study attributes a synthesis can use as moderators (``months_since_campaign`` is
numeric, the others are categories)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudyEntry(_Strict):
    """One study of the synthesis: where its estimates are and what describes it."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    estimates: Path | None = Field(
        default=None, description="an exported estimates table (CSV or Parquet)"
    )
    study: Path | None = Field(
        default=None, description="a study file: its latest estimation run is read"
    )
    title: str = ""
    region: str = "unspecified"
    country: str = "unspecified"
    campaign_type: str = "unspecified"
    messenger: str = "unspecified"
    channel: str = "unspecified"
    months_since_campaign: float | None = Field(default=None, ge=0)
    design: Literal["cluster_randomised", "quasi_experimental", "pre_post"] | None = Field(
        default=None, description="the study's assignment (read from the study file if given)"
    )
    primary_wave: str | None = Field(
        default=None, description="the wave pooled; default the study file's, else the latest"
    )
    all_waves: bool = Field(
        default=False, description="pool every later wave (several estimates per study)"
    )
    outcomes: dict[str, str] = Field(
        default_factory=dict, description="the study's outcome name -> the shared vocabulary"
    )

    @model_validator(mode="after")
    def _one_source(self) -> StudyEntry:
        if (self.estimates is None) == (self.study is None):
            raise ValueError(
                f"study {self.id!r}: give exactly one of estimates = 'file.csv' (exported "
                "estimates) or study = 'study.toml'"
            )
        return self


class OutcomeEntry(_Strict):
    """One outcome of the shared vocabulary to pool, with its smallest effect of interest."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    sesoi: float | None = Field(
        default=None,
        gt=0,
        description="smallest effect size of interest, in standard deviations",
    )
    label: str = ""


class Bearing(_Strict):
    """One outcome and the direction of the effect an assumption predicts on it."""

    outcome: str
    direction: Literal["higher", "lower"]

    @property
    def sign(self) -> int:
        return 1 if self.direction == "higher" else -1


class Moderator(_Strict):
    """An effects-by-group difference; exported estimate tables do not carry it."""

    outcome: str
    grouping: str


class AssumptionEntry(_Strict):
    """One assumption and the pooled outcomes that bear on it (the study file's shape)."""

    number: int = Field(ge=1)
    name: str
    claim: str
    headline: Bearing | None = None
    premise: list[Bearing] = Field(default_factory=list)
    supporting: list[Bearing] = Field(default_factory=list)
    moderator: Moderator | None = None
    note: str = ""


class _Assumptions(_Strict):
    assumptions: list[AssumptionEntry]


class Synthesis(_Strict):
    """A synthesis file, validated; paths are resolved against the file's folder."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    vocabulary: str = Field(
        default="migration_campaign",
        description="the instrument whose constructs and items name the shared outcomes",
    )
    method: Literal["REML", "DL"] = "REML"
    test: Literal["knha", "z"] = "knha"
    confidence: float = Field(default=0.95, gt=0, lt=1)
    moderators: list[str] = Field(default_factory=list)
    output: Path = Field(default=Path("synthesis"), description="where the report is written")
    minimum_cell_size: int = Field(
        default=10, ge=1, description="estimates from a smaller arm-by-wave cell are left out"
    )
    outcomes: list[OutcomeEntry] = Field(min_length=1)
    studies: list[StudyEntry] = Field(min_length=1)
    assumptions: list[AssumptionEntry] | None = None
    path: Path = Field(default=Path("synthesis.toml"), exclude=True)

    @model_validator(mode="after")
    def _check(self) -> Synthesis:
        ids = [study.id for study in self.studies]
        twice = sorted({name for name in ids if ids.count(name) > 1})
        if twice:
            raise ValueError(f"studies: ids {twice} appear twice; give each study its own id")
        unknown = sorted(set(self.moderators) - set(MODERATORS))
        if unknown:
            raise ValueError(f"moderators: {unknown} are unknown; choose from {list(MODERATORS)}")
        names = [outcome.name for outcome in self.outcomes]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"outcomes: {twice} appear twice; list each outcome once")
        return self

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def output_dir(self) -> Path:
        return self.output if self.output.is_absolute() else self.root / self.output

    def located(self, path: Path) -> Path:
        """A path of the file, resolved against the synthesis file's folder."""
        return path if path.is_absolute() else self.root / path

    @property
    def sesoi(self) -> dict[str, float | None]:
        return {outcome.name: outcome.sesoi for outcome in self.outcomes}


def vocabulary_labels(reference: str) -> dict[str, str]:
    """The shared outcome vocabulary: every construct and item of an instrument, with labels."""
    instrument = load_instrument(reference)
    labels = {construct.name: construct.label for construct in instrument.constructs}
    for item in instrument.items:
        labels.setdefault(item.name, item.question)
    return labels


def synthesis_assumptions(synthesis: Synthesis) -> tuple[list[AssumptionEntry], str]:
    """The assumptions to score and where they come from (the file, or the vocabulary's
    defaults in ``data/assumptions/<instrument>.toml``)."""
    if synthesis.assumptions is not None:
        return list(synthesis.assumptions), "the synthesis file's [[assumptions]]"
    path = ASSUMPTION_DEFAULTS / f"{Path(synthesis.vocabulary).stem}.toml"
    if not path.is_file():
        return [], "none declared"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        declared = _Assumptions.model_validate(raw).assumptions
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise StudyFileError(
            f"synthesis_assumptions: {format_validation_error(path, error)}. Fix the file."
        ) from None
    return list(declared), f"the defaults of the instrument {path.stem!r}"


def load_synthesis(path: Path | str) -> Synthesis:
    """Read and validate a synthesis file; every problem names its key and the fix."""
    path = Path(path)
    if path.is_dir():
        path = path / "synthesis.toml"
    if not path.is_file():
        raise StudyFileError(
            f"load_synthesis: no synthesis file at {str(path)!r}. Pass the path of a "
            "synthesis.toml (data/syntheses/example/synthesis.toml is an example)."
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise StudyFileError(
            f"load_synthesis: {path} is not valid TOML ({error}). Fix the syntax."
        ) from None
    try:
        synthesis = Synthesis.model_validate({**raw, "path": path.resolve()})
    except ValidationError as error:
        raise StudyFileError(format_validation_error(path, error)) from None
    known = vocabulary_labels(synthesis.vocabulary)
    unknown = [o.name for o in synthesis.outcomes if o.name not in known and not o.label]
    if unknown:
        raise StudyFileError(
            f"{path}: outcomes {unknown} are not constructs or items of the vocabulary "
            f"{synthesis.vocabulary!r}; name one of them (for example "
            f"{sorted(known)[:5]}) or give the outcome a label to add it to the vocabulary."
        )
    for study in synthesis.studies:
        source = study.estimates if study.estimates is not None else study.study
        if source is not None and not synthesis.located(source).exists():
            raise StudyFileError(
                f"{path}: studies.{study.id}: the file {str(source)!r} does not exist (looked "
                f"in {synthesis.root}). Fix the path; it is relative to the synthesis file."
            )
    return synthesis
