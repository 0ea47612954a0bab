"""What a simulated study looks like: design sizes, true effects, field-fault rates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

# The fault classes written to truth/faults.csv; validation scores itself against them.
FAULT_CLASSES: tuple[str, ...] = (
    "duplicate_submission",
    "speeder",
    "straightliner",
    "out_of_range",
    "missing_consent",
    "fabricated",
)

# Row-level faults planted at a share of each wave's interviews.
ROW_FAULTS: tuple[str, ...] = (
    "duplicate_submission",
    "speeder",
    "straightliner",
    "out_of_range",
    "missing_consent",
)

# Keys of SimulationSettings.fault_rates: the row faults, the don't-know rate on risk beliefs
# and trust, and the share of one enumerator's interviews that he fabricates.
FAULT_RATE_KEYS: tuple[str, ...] = (*ROW_FAULTS, "dont_know", "fabricating_enumerator")

# Effects in the units of each item (likert points, percentage points, probability), at the
# first wave after baseline; later waves multiply by `persistence`. A key is an item or a
# construct (every item of it). Values follow the review: campaigns move risk perception,
# knowledge and feeling informed, shift intentions a little, and leave trust and the wish to
# leave unchanged.
DEFAULT_EFFECTS: Mapping[str, float] = MappingProxyType(
    {
        "trust_official": 0.0,
        "trust_informal": 0.0,
        "risk_perception": 8.0,
        "knowledge": 0.10,
        "feel_informed": 0.3,
        "irregular_intention": -0.25,
        "wish_to_leave": 0.0,
        "legal_intention": 0.15,
        "knows_legal_pathway": 0.08,
        "local_opportunities": 0.0,
        "exposure_recall": 0.40,
    }
)

# A secular change shared by both arms, in latent standard deviations per wave after baseline.
DEFAULT_TRENDS: Mapping[str, float] = MappingProxyType(
    {"risk_perception": 0.05, "migration_intention": -0.05, "exposure_recall": 0.10}
)

DEFAULT_FAULT_RATES: Mapping[str, float] = MappingProxyType(
    {
        "duplicate_submission": 0.015,
        "speeder": 0.015,
        "straightliner": 0.015,
        "out_of_range": 0.015,
        "missing_consent": 0.01,
        "dont_know": 0.03,
        "fabricating_enumerator": 1.0,
    }
)

DEFAULT_NEVER_HEARD_RATES: Mapping[str, float] = MappingProxyType(
    {"trust_eu": 0.08, "trust_iom_un": 0.06, "trust_destination_government": 0.04}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationSettings:
    """Sizes, true effects and field faults of one simulated cluster-randomised study.

    ``attrition[k]`` is the cumulative share of baseline respondents not re-interviewed at
    the (k+1)-th wave after baseline (panel only); ``differential_attrition`` is added to the
    campaign arm's rate and subtracted from the comparison arm's, half each.
    ``effects`` hold the true effect at the first wave after baseline (item units);
    ``persistence[k]`` scales it at the (k+1)-th wave after baseline (the last value repeats).
    ``icc`` is the share of each construct's latent variance that lies between communities.
    ``fault_rates["fabricating_enumerator"]`` is the share of one enumerator's interviews he
    fabricates (0 turns the fault off).
    """

    seed: int = 20261130
    n_clusters: int = 40
    n_strata: int = 2
    respondents_per_cluster: int = 20
    sampling: Literal["panel", "repeated_cross_section"] | None = None
    attrition: tuple[float, ...] = (0.12, 0.20)
    differential_attrition: float = 0.0
    icc: float = 0.10
    item_loading: float = 0.8
    panel_correlation: float = 0.6
    effects: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EFFECTS))
    persistence: tuple[float, ...] = (1.0, 0.5)
    trends: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TRENDS))
    fault_rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FAULT_RATES))
    never_heard_rates: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_NEVER_HEARD_RATES)
    )
    refused_rate: float = 0.005
    n_enumerators: int = 8
    typical_duration_minutes: float = 40.0

    def __post_init__(self) -> None:
        where = "SimulationSettings"
        if self.n_strata < 1 or self.n_clusters < 2 * self.n_strata:
            raise ValueError(
                f"{where}: each stratum needs at least two communities (one per arm); found "
                f"n_clusters={self.n_clusters!r}, n_strata={self.n_strata!r}. Raise n_clusters "
                "or lower n_strata."
            )
        if self.respondents_per_cluster < 1:
            raise ValueError(
                f"{where}: respondents_per_cluster must be at least 1; found "
                f"{self.respondents_per_cluster!r}. Give a positive count."
            )
        if not 1 <= self.n_enumerators <= self.n_clusters:
            raise ValueError(
                f"{where}: n_enumerators must lie between 1 and n_clusters "
                f"({self.n_clusters}); found {self.n_enumerators!r}. Each enumerator works at "
                "least one community."
            )
        for name, value in (
            ("icc", self.icc),
            ("item_loading", self.item_loading),
            ("panel_correlation", self.panel_correlation),
            ("refused_rate", self.refused_rate),
            *((f"attrition[{k}]", v) for k, v in enumerate(self.attrition)),
            *((f"fault_rates[{k!r}]", v) for k, v in self.fault_rates.items()),
            *((f"never_heard_rates[{k!r}]", v) for k, v in self.never_heard_rates.items()),
        ):
            if not 0.0 <= value < 1.0 and not (name.endswith("'fabricating_enumerator']")):
                raise ValueError(
                    f"{where}: {name} must lie in [0, 1); found {value!r}. Give a share."
                )
        fabricating = self.fault_rates.get("fabricating_enumerator", 0.0)
        if not 0.0 <= fabricating <= 1.0:
            raise ValueError(
                f"{where}: fault_rates['fabricating_enumerator'] must lie in [0, 1]; found "
                f"{fabricating!r}. Give the share of his interviews he fabricates."
            )
        unknown = sorted(set(self.fault_rates) - set(FAULT_RATE_KEYS))
        if unknown:
            raise ValueError(
                f"{where}: unknown fault_rates keys {unknown}; known: {list(FAULT_RATE_KEYS)}. "
                "Fix the spelling."
            )
        planted = sum(self.fault_rates.get(name, 0.0) for name in ROW_FAULTS)
        if planted > 0.4:
            raise ValueError(
                f"{where}: the row-fault rates add up to {planted:.2f}; at most 0.4 of the "
                "interviews can carry a planted fault. Lower the rates."
            )
        if self.attrition and any(
            b < a for a, b in zip(self.attrition, self.attrition[1:], strict=False)
        ):
            raise ValueError(
                f"{where}: attrition is cumulative and cannot fall between waves; found "
                f"{self.attrition!r}. Give non-decreasing shares."
            )
        if not self.persistence:
            raise ValueError(
                f"{where}: persistence needs at least one value; found (). Give (1.0,) for a "
                "constant effect."
            )

    def attrition_at(self, later_wave: int) -> float:
        """The cumulative attrition at the ``later_wave``-th wave after baseline (1-based)."""
        if not self.attrition:
            return 0.0
        return self.attrition[min(later_wave, len(self.attrition)) - 1]

    def persistence_at(self, later_wave: int) -> float:
        """The share of the first post-baseline effect left at the ``later_wave``-th wave."""
        return self.persistence[min(later_wave, len(self.persistence)) - 1]

    def fault_rate(self, name: str) -> float:
        return float(self.fault_rates.get(name, 0.0))

    def to_json_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (for truth/settings.json)."""
        raw: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("effects", "trends", "fault_rates", "never_heard_rates"):
            raw[key] = dict(sorted(getattr(self, key).items()))
        for key in ("attrition", "persistence"):
            raw[key] = list(getattr(self, key))
        return raw
