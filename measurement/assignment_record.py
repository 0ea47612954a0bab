"""The record of a drawn assignment, structured so randomization inference can re-use it.

An assignment record holds what the randomisation did: each unit of assignment with its
stratum, its arm and the covariate values the re-randomization rule judged, the rule (kind,
covariates, threshold), the seed and the number of draws it took, and a SHA-256 of the unit
table so that an edited record, or units whose values changed after assignment, are caught.
Randomization inference given a record draws assignments of *all* recorded units within
their recorded strata and keeps only those the rule accepts (units absent from the data, a
community that dropped out, still take part in the rule).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from measurement.errors import DesignError
from measurement.rerandomization import RULE_KINDS, BalanceRule

__all__ = ["RECORD_VERSION", "AssignmentRecord", "unit_label", "units_sha256"]

RECORD_VERSION = 1
"""Version of the record's structure (``to_dict``)."""


def unit_label(value: object) -> str:
    """A unit identifier as text: ``12``, ``12.0`` and ``"12"`` are the same unit."""
    if (
        isinstance(value, float | np.floating)
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value).strip()


def units_sha256(
    units: Sequence[str],
    strata: Sequence[str],
    covariates: Sequence[str],
    values: Sequence[Sequence[float]],
) -> str:
    """SHA-256 of the unit table (ids, strata and covariate values to 12 significant digits).

    The values are rounded so that a table written to CSV and read back hashes the same.
    """
    rows = [
        [unit, stratum, *[f"{float(value):.12g}" for value in row]]
        for unit, stratum, row in zip(units, strata, values, strict=True)
    ]
    text = json.dumps({"covariates": list(covariates), "rows": rows}, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentRecord:
    """A drawn assignment: its units, strata, arms, rule covariates, rule, seed and draws.

    Attributes
    ----------
    units : tuple of str
        Unit identifiers (see :func:`unit_label`), each once.
    strata : tuple of str
        Each unit's stratum ("all" without strata).
    treated : tuple of int
        Each unit's arm, 1 campaign, 0 comparison.
    covariates : tuple of str
        The rule's covariates (empty without a rule).
    values : tuple of tuple of float
        Each unit's covariate values, in the order of ``covariates``.
    rule : BalanceRule or None
        The re-randomization rule; None for a single draw.
    seed : int
        Seed of the draw.
    draws : int
        Draws taken until the rule held (1 without a rule).

    Examples
    --------
    >>> rule = BalanceRule(covariates=("x",), threshold=0.5)
    >>> record = AssignmentRecord(units=("a", "b", "c", "d"), strata=("all",) * 4,
    ...     treated=(1, 0, 0, 1), covariates=("x",), values=((1.0,), (2.0,), (3.0,), (4.0,)),
    ...     rule=rule, seed=7, draws=2)
    >>> AssignmentRecord.from_dict(record.to_dict(), source="record.json") == record
    True
    >>> record.locate(["d", "b"], [1, 0], caller="example").tolist()
    [3, 1]
    """

    units: tuple[str, ...]
    strata: tuple[str, ...]
    treated: tuple[int, ...]
    covariates: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]
    rule: BalanceRule | None
    seed: int
    draws: int

    def __post_init__(self) -> None:
        caller = "AssignmentRecord"
        size = len(self.units)
        if not (len(self.strata) == len(self.treated) == len(self.values) == size):
            raise ValueError(
                f"{caller}: units, strata, treated and values must have one entry per unit; "
                f"got {size}, {len(self.strata)}, {len(self.treated)} and {len(self.values)}. "
                "Build the record from one unit table."
            )
        if len(set(self.units)) != size:
            raise ValueError(
                f"{caller}: {size - len(set(self.units))} unit(s) are listed more than once. "
                "List each unit of assignment once."
            )
        if any(value not in (0, 1) for value in self.treated):
            raise ValueError(f"{caller}: treated must hold 0 or 1 for every unit. Fix the record.")
        if any(len(row) != len(self.covariates) for row in self.values):
            raise ValueError(
                f"{caller}: every unit needs one value per covariate {list(self.covariates)!r}. "
                "Fix the record."
            )
        if self.rule is not None and tuple(self.rule.covariates) != tuple(self.covariates):
            raise ValueError(
                f"{caller}: the rule judges {list(self.rule.covariates)!r} but the record holds "
                f"values of {list(self.covariates)!r}. Record the rule's covariates."
            )
        if self.rule is not None and not np.all(np.isfinite(self.value_matrix())):
            raise ValueError(
                f"{caller}: the rule's covariates have missing values in the record. Fill them "
                "before assignment."
            )

    def value_matrix(self) -> np.ndarray:
        """(units x covariates) array of the recorded covariate values."""
        return np.asarray(self.values, dtype=float).reshape(len(self.units), len(self.covariates))

    def treated_array(self) -> np.ndarray:
        """The recorded arms as a float array (one per unit)."""
        return np.asarray(self.treated, dtype=float)

    def units_sha256(self) -> str:
        """SHA-256 of the unit table (:func:`units_sha256`): what the units file must match."""
        return units_sha256(self.units, self.strata, self.covariates, self.values)

    def sha256(self) -> str:
        """SHA-256 of the whole record (units, strata, arms, values, rule, seed, draws)."""
        content = self._content()
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=repr)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def describe(self) -> str:
        """The assignment in words."""
        rule = self.rule.describe() if self.rule is not None else "no re-randomization"
        return (
            f"recorded assignment of {len(self.units)} units (seed {self.seed}, "
            f"{self.draws} draw(s); {rule})"
        )

    def locate(
        self, clusters: Sequence[object], treated: Sequence[float] | np.ndarray, *, caller: str
    ) -> np.ndarray:
        """Each data cluster's position among the record's units, checked against its arm.

        Parameters
        ----------
        clusters : sequence
            The data's cluster identifiers, one per cluster (matched as :func:`unit_label`).
        treated : sequence of float
            The data's arm of each cluster (1 campaign, 0 comparison).
        caller : str
            The function named in errors.

        Returns
        -------
        numpy.ndarray
            Integer positions into ``units``.

        Raises
        ------
        DesignError
            A cluster the record does not list, or a cluster whose arm differs from the
            recorded one.
        """
        labels = [unit_label(value) for value in clusters]
        index = {unit: position for position, unit in enumerate(self.units)}
        unknown = [label for label in labels if label not in index]
        if unknown:
            raise DesignError(
                f"{caller}: {len(unknown)} of the data's {len(labels)} clusters are not units "
                f"of the assignment record ({len(self.units)} units). Check that the record "
                "belongs to this study and that cluster identifiers are written as at "
                "assignment."
            )
        positions = np.array([index[label] for label in labels], dtype=np.int64)
        arms = np.asarray(treated, dtype=float)
        differing = int(np.sum(self.treated_array()[positions] != arms))
        if differing:
            raise DesignError(
                f"{caller}: {differing} of {len(labels)} clusters are in a different arm in the "
                "data than in the assignment record. Check the arm column against the "
                "assignment file, or the record against the study."
            )
        return positions

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping with both hashes (:meth:`from_dict` reads it back)."""
        return {**self._content(), "sha256": self.sha256()}

    def _content(self) -> dict[str, object]:
        return {
            "version": RECORD_VERSION,
            "seed": self.seed,
            "draws": self.draws,
            "rule": None
            if self.rule is None
            else {
                "kind": self.rule.kind,
                "covariates": list(self.rule.covariates),
                "threshold": self.rule.threshold,
                "maximum_draws": self.rule.maximum_draws,
                "scale": "standard deviation over all units (ddof 1)",
            },
            "covariates": list(self.covariates),
            "units": [
                {
                    "unit": unit,
                    "stratum": stratum,
                    "treated": int(arm),
                    "values": [float(value) for value in row],
                }
                for unit, stratum, arm, row in zip(
                    self.units, self.strata, self.treated, self.values, strict=True
                )
            ],
            "units_sha256": self.units_sha256(),
        }

    @classmethod
    def from_dict(cls, mapping: Mapping[str, object], *, source: str) -> AssignmentRecord:
        """Read a record written by :meth:`to_dict`; ``source`` names it in errors.

        Raises
        ------
        ValueError
            A missing or malformed key, an unknown rule kind, or a ``units_sha256`` or
            ``sha256`` that does not match the content (the record was edited after
            assignment).
        """
        caller = "AssignmentRecord.from_dict"
        rule_entry = mapping.get("rule")
        if isinstance(rule_entry, Mapping) and rule_entry.get("kind") not in RULE_KINDS:
            raise ValueError(
                f"{caller}: {source} names the rule kind {rule_entry.get('kind')!r}; known "
                f"kinds are {list(RULE_KINDS)!r}. Re-draw the assignment with this version."
            )
        try:
            rule = None
            if rule_entry is not None:
                if not isinstance(rule_entry, Mapping):
                    raise TypeError("'rule' is not a table")
                rule = BalanceRule(
                    covariates=tuple(str(name) for name in rule_entry["covariates"]),
                    threshold=float(rule_entry["threshold"]),
                    maximum_draws=int(rule_entry.get("maximum_draws", 10_000)),
                )
            rows = mapping["units"]
            if not isinstance(rows, Sequence):
                raise TypeError("'units' is not a list")
            covariates_entry = mapping.get("covariates", [])
            if not isinstance(covariates_entry, Sequence):
                raise TypeError("'covariates' is not a list")
            record = cls(
                units=tuple(unit_label(row["unit"]) for row in rows),
                strata=tuple(str(row["stratum"]) for row in rows),
                treated=tuple(int(row["treated"]) for row in rows),
                covariates=tuple(str(name) for name in covariates_entry),
                values=tuple(
                    tuple(float("nan") if v is None else float(v) for v in row["values"])
                    for row in rows
                ),
                rule=rule,
                seed=int(mapping["seed"]),  # type: ignore[call-overload]
                draws=int(mapping["draws"]),  # type: ignore[call-overload]
            )
        except KeyError as error:
            raise ValueError(
                f"{caller}: {source} is not an assignment record; key {error} is missing. "
                "Write it with `trustshift assign`."
            ) from None
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{caller}: {source} is not a readable assignment record ({error}). Restore "
                "the file written by `trustshift assign`."
            ) from None
        for key, found in (("units_sha256", record.units_sha256()), ("sha256", record.sha256())):
            if mapping.get(key) != found:
                raise ValueError(
                    f"{caller}: {source} holds {key} {mapping.get(key)!r}, but its content "
                    f"hashes to {found!r}: the record was changed after assignment. Restore "
                    "the file written by `trustshift assign`."
                )
        return record
