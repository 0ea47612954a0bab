"""Which outcomes bear on each of the review's assumptions: the study file's `[[assumptions]]`.

A study declares, per assumption, its headline outcome (the consequence the assumption
predicts), the premise outcomes (what must move first) and supporting outcomes, each with the
direction the assumption predicts; or a moderator (an effects-by-group difference) for an
assumption about who decides. A study that declares none gets the defaults of its bundled
instrument (``data/assumptions/<instrument>.toml``) when there is such a file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flows.bundled import BUNDLED_DATA
from flows.errors import StudyFileError, format_validation_error

# An installed wheel carries data/ as flows/_data/: read it through flows.bundled.
DEFAULTS = BUNDLED_DATA / "assumptions"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bearing(_Strict):
    """One outcome and the direction of the effect the assumption predicts on it."""

    outcome: str
    direction: Literal["higher", "lower"]

    @property
    def sign(self) -> int:
        return 1 if self.direction == "higher" else -1


class Moderator(_Strict):
    """An effects-by-group difference (``effects_by_group`` rows, term ``difference``)."""

    outcome: str
    grouping: str = Field(description="the grouping column of the effects_by_group table")


class AssumptionDeclaration(_Strict):
    """One assumption and the estimates that bear on it."""

    number: int = Field(ge=1)
    name: str
    claim: str
    headline: Bearing | None = None
    premise: list[Bearing] = Field(default_factory=list)
    supporting: list[Bearing] = Field(default_factory=list)
    moderator: Moderator | None = None
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> AssumptionDeclaration:
        if self.headline is None and self.moderator is None:
            raise ValueError(
                f"assumption {self.number} ({self.name}): declare a headline outcome "
                "(headline = {outcome = ..., direction = ...}) or a moderator"
            )
        return self


class _Declarations(_Strict):
    assumptions: list[AssumptionDeclaration]


def default_assumptions(instrument: str) -> list[AssumptionDeclaration]:
    """The bundled defaults for an instrument name; empty when it ships none."""
    path = DEFAULTS / f"{Path(instrument).stem}.toml"
    if not path.is_file():
        return []
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return list(_Declarations.model_validate(raw).assumptions)
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        message = (
            format_validation_error(path, error)
            if isinstance(error, ValidationError)
            else f"{path}: {error}"
        )
        raise StudyFileError(f"default_assumptions: {message}. Fix the file.") from None


def study_assumptions(
    declared: list[AssumptionDeclaration] | None, *, instrument: str | None
) -> tuple[list[AssumptionDeclaration], str]:
    """The assumptions a study's scorecard reads and where they come from (for the report).

    ``instrument`` is the study's base instrument; a study without one inherits no defaults.
    """
    if declared is not None:
        return list(declared), "the study file's [[assumptions]]"
    if instrument is None:
        return [], "none declared"
    defaults = default_assumptions(instrument)
    if defaults:
        return defaults, f"the defaults of the instrument {Path(instrument).stem!r}"
    return [], "none declared"
