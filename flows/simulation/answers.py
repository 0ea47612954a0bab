"""How each item's answers arise: a latent per construct mapped onto the item's scale.

Every latent-driven item answers ``f(m + stratum offset + trend + effect + sd * x)`` where
``x`` is standard normal across the population (a community part with share ``icc`` and a
respondent part), so the population mean of every item in every arm and wave has a closed
form (or a Gauss-Hermite quadrature); the true effect is solved on the item's own scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

from flows.instrument import Instrument, Item
from flows.simulation.settings import SimulationSettings

# Latent kinds: the item's answer is a function of a normal latent.
LATENT_KINDS = frozenset({"likert", "binary", "quiz", "percentage", "lognormal"})

_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(64)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """The baseline distribution of one item (before strata, trends and effects)."""

    # likert | binary | quiz | percentage | lognormal | categorical | select | fixed |
    # respondent | age_at_interview | relatives_abroad_count (the last three: drawn with the
    # respondent, the same in every wave but the age)
    kind: str
    location: float = 0.0  # latent mean: code units, probit, logit or log
    spread: float = 1.0  # latent standard deviation in the same units
    rounding: float = 1.0  # lognormal answers are rounded to this unit
    probabilities: dict[str, float] = field(default_factory=dict)  # categorical / select
    own_latent: bool = False  # not loaded on the construct's latent
    respondent: str | None = None  # kind "respondent": the Respondents field it reports
    sensitive: bool = False  # refused now and then, as the intention items are
    by_campaign: dict[str, tuple[float, float]] | None = None
    """select: each choice's share before and after the campaign (else ``probabilities``)."""


def _likert(mean: float, spread: float = 1.1, *, own: bool = False) -> Profile:
    return Profile(kind="likert", location=mean, spread=spread, own_latent=own)


def _binary(share: float, *, own: bool = False) -> Profile:
    return Profile(kind="binary", location=float(special.ndtri(share)), own_latent=own)


def _quiz(share_correct: float) -> Profile:
    return Profile(kind="quiz", location=float(special.ndtri(share_correct)))


def _percentage(median: float, spread: float = 1.0) -> Profile:
    return Profile(kind="percentage", location=float(special.logit(median / 100)), spread=spread)


def _lognormal(
    median: float, spread: float, rounding: float, *, own: bool = False, sensitive: bool = False
) -> Profile:
    return Profile(
        kind="lognormal", location=float(np.log(median)), spread=spread, rounding=rounding,
        own_latent=own, sensitive=sensitive,
    )  # fmt: skip


def _respondent(field: str) -> Profile:
    return Profile(kind="respondent", respondent=field)


# Channels the campaign's recall names: share before (or in the comparison arm) and after.
EXPOSURE_CHANNELS: dict[str, tuple[float, float]] = {
    "radio": (0.50, 0.40),
    "television": (0.30, 0.25),
    "town_hall": (0.05, 0.70),
    "social_media": (0.40, 0.35),
    "school": (0.10, 0.10),
    "word_of_mouth": (0.40, 0.45),
}

# Baselines consistent with the review: most people overestimate the dangers (risk_death's true
# value is 2 of 100) and the chance to stay; official sources are distrusted (about 2 of 5),
# family and returnees trusted (about 4); decisions are taken with the family.
PROFILES: dict[str, Profile] = {
    "trust_own_government": _likert(2.1),
    "trust_destination_government": _likert(1.6),
    "trust_eu": _likert(1.8),
    "trust_iom_un": _likert(2.0),
    "trust_ngo": _likert(3.0),
    "trust_local_leaders": _likert(3.3),
    "trust_religious_leaders": _likert(3.5),
    "trust_family": _likert(4.2),
    "trust_friends": _likert(3.6),
    "trust_diaspora": _likert(3.8),
    "trust_returnees": _likert(4.0),
    "trust_smugglers": _likert(2.2),
    "trust_traditional_media": _likert(3.0),
    "trust_social_media": _likert(3.2),
    "most_important_source": Profile(
        kind="categorical",
        probabilities={
            "1": 0.04,
            "2": 0.02,
            "3": 0.02,
            "4": 0.04,
            "5": 0.04,
            "6": 0.06,
            "7": 0.07,
            "8": 0.24,
            "9": 0.10,
            "10": 0.13,
            "11": 0.14,
            "12": 0.02,
            "13": 0.04,
            "14": 0.04,
        },
    ),
    "risk_death": _percentage(20.0),
    "risk_abuse": _percentage(55.0),
    "risk_forced_labour": _percentage(40.0),
    "risk_detention": _percentage(45.0),
    "risk_deportation": _percentage(30.0),
    "risk_self_death": _percentage(12.0),
    "risk_asylum_chance": _percentage(45.0),
    "expected_cost": _lognormal(2_000_000.0, 0.6, 50_000.0),
    "expected_duration_months": _lognormal(6.0, 0.6, 1.0),
    "expected_earnings": _lognormal(600_000.0, 0.7, 10_000.0),
    "knowledge_visa": _quiz(0.70),
    "knowledge_asylum": _quiz(0.40),
    "knowledge_route": _quiz(0.55),
    "knowledge_return": _quiz(0.65),
    "knowledge_legal_pathway": _quiz(0.35),
    "feel_informed": _likert(3.0),
    "feel_informed_rights": _likert(2.5),
    "wish_to_leave": _binary(0.5),
    # Asked only of those who wish to leave (and have a plan): their own latents keep the
    # answering group the same in both arms, so their true effects stay exact.
    "plan_12_months": _binary(0.45, own=True),
    "preparations_made": _binary(0.55, own=True),
    "preparations": Profile(
        kind="select",
        probabilities={
            "saved_money": 0.6,
            "contacted_agent": 0.2,
            "obtained_documents": 0.3,
            "asked_family": 0.45,
            "sold_assets": 0.1,
            "learned_language": 0.15,
        },
    ),
    "irregular_intention": _likert(2.6, 1.2),
    "legal_intention": _likert(2.4, 1.2),
    "intended_destination": Profile(
        kind="categorical",
        probabilities={
            "1": 0.25,
            "2": 0.2,
            "3": 0.2,
            "4": 0.1,
            "5": 0.05,
            "6": 0.1,
            "7": 0.05,
            "8": 0.05,
        },
    ),
    "local_opportunities": _likert(2.3),
    "can_earn_living_here": _likert(2.2),
    "knows_legal_pathway": _binary(0.25),
    "decision_who": Profile(
        kind="categorical",
        probabilities={"1": 0.15, "2": 0.35, "3": 0.10, "4": 0.15, "5": 0.25},
    ),
    "family_expects_migration": _likert(3.2),
    "family_pressure": _likert(2.8),
    "family_would_fund": _binary(0.55),
    "exposure_recall": _binary(0.30, own=True),
    "exposure_channel": Profile(kind="select", by_campaign=EXPOSURE_CHANNELS),
    "recall_core_message": Profile(kind="fixed"),
    "attended_event": Profile(kind="fixed"),
    "liked_campaign": _likert(3.7, own=True),
    "recall_statistic": Profile(kind="fixed"),
    "age": Profile(kind="age_at_interview"),
    "gender": _respondent("gender"),
    "education": _respondent("education"),
    "household_size": _respondent("household_size"),
    "employed": _binary(0.45, own=True),
    "monthly_income": _lognormal(75_000.0, 0.7, 5_000.0, own=True, sensitive=True),
    "relatives_abroad": _respondent("relatives_abroad"),
    "number_relatives_abroad": Profile(kind="relatives_abroad_count"),
    "knows_returnee": _binary(0.45),
    "discussed_migration": _binary(0.55),
}

# item -> (the item deciding whether it is asked, the answer that opens it).
SKIPS: dict[str, tuple[str, float]] = {
    "plan_12_months": ("wish_to_leave", 1.0),
    "intended_destination": ("wish_to_leave", 1.0),
    "preparations_made": ("plan_12_months", 1.0),
    "preparations": ("preparations_made", 1.0),
    "monthly_income": ("employed", 1.0),
    "exposure_channel": ("exposure_recall", 1.0),
    "recall_core_message": ("exposure_recall", 1.0),
    "attended_event": ("exposure_recall", 1.0),
    "liked_campaign": ("exposure_recall", 1.0),
    "recall_statistic": ("exposure_recall", 1.0),
}

# Manipulation checks asked after recall: share "yes" in the comparison arm (or before the
# campaign) and in the campaign arm after it.
EXPOSURE_FOLLOWUPS: dict[str, tuple[float, float]] = {
    "recall_core_message": (0.20, 0.65),
    "attended_event": (0.05, 0.55),
    "recall_statistic": (0.10, 0.40),
}


def default_profile(item: Item) -> Profile:
    """A plain profile for an item the bundled instrument does not have."""
    low, high = item.bounds
    if item.scale == "likert":
        return _likert(((low or 1.0) + (high or 5.0)) / 2)
    if item.scale == "percentage":
        return _percentage(50.0)
    if item.scale == "binary":
        return _binary(0.5)
    if item.scale == "categorical":
        if item.correct_answer is not None:
            return _quiz(0.5)
        share = 1.0 / len(item.labels)
        return Profile(kind="categorical", probabilities=dict.fromkeys(item.labels, share))
    if item.scale == "select_multiple":
        return Profile(kind="select", probabilities=dict.fromkeys(item.choices, 0.3))
    if item.scale == "count":
        return _lognormal(max(3.0, low or 0.0), 0.5, 1.0)
    return _lognormal(100_000.0, 0.7, 1_000.0)


def profile_of(item: Item) -> Profile:
    """The item's profile: the bundled one when it fits the item's scale, else a default."""
    profile = PROFILES.get(item.name)
    if profile is None or not _fits(profile, item):
        return default_profile(item)
    return profile


# Kinds not drawn from a latent, and the scales they fit.
_NOT_LATENT_KINDS = ("fixed", "respondent", "age_at_interview", "relatives_abroad_count")
_NOT_LATENT_SCALES = {"binary", "count", "categorical", "likert", "select_multiple"}


def _fits(profile: Profile, item: Item) -> bool:
    expected = {
        "likert": {"likert"},
        "binary": {"binary"},
        "quiz": {"categorical"},
        "percentage": {"percentage"},
        "lognormal": {"count", "money"},
        "categorical": {"categorical"},
        "select": {"select_multiple"},
        **dict.fromkeys(_NOT_LATENT_KINDS, _NOT_LATENT_SCALES),
    }[profile.kind]
    if item.scale not in expected:
        return False
    if profile.kind == "quiz":
        return item.correct_answer is not None
    if profile.kind in ("categorical", "select") and profile.probabilities:
        keys = set(item.labels if profile.kind == "categorical" else item.choices)
        return set(profile.probabilities) == keys
    return True


def expected_answer(item: Item, profile: Profile, location: np.ndarray) -> np.ndarray:
    """The population mean of the item's answer for latent means ``location``.

    For a quiz item this is the probability of the correct answer.
    """
    location = np.asarray(location, dtype=float)
    if profile.kind == "likert":
        low, high = _likert_bounds(item)
        cuts = np.arange(low + 0.5, high, 1.0)
        return low + special.ndtr((location[..., None] - cuts) / profile.spread).sum(axis=-1)
    if profile.kind in ("binary", "quiz"):
        return special.ndtr(location)
    if profile.kind == "percentage":
        values = special.expit(location[..., None] + profile.spread * _HERMITE_NODES)
        return 100.0 * (values * _HERMITE_WEIGHTS).sum(axis=-1)
    if profile.kind == "lognormal":
        return np.exp(location + profile.spread**2 / 2)
    raise ValueError(f"expected_answer: item {item.name!r} has no latent ({profile.kind!r})")


def latent_shift_for(
    item: Item,
    profile: Profile,
    *,
    base: np.ndarray,
    weights: np.ndarray,
    target: float,
) -> float:
    """The latent shift that moves the item's population mean by ``target``.

    ``base`` holds the latent mean of each stratum, ``weights`` their population shares.
    """
    if target == 0.0:
        return 0.0

    def gap(shift: float) -> float:
        moved = expected_answer(item, profile, base + shift)
        still = expected_answer(item, profile, base)
        return float(np.dot(weights, moved - still) - target)

    scale = profile.spread if profile.kind != "lognormal" else 1.0
    bracket = 20.0 * scale
    if gap(-bracket) * gap(bracket) > 0:
        raise ValueError(
            f"simulate_study: a true effect of {target!r} on item {item.name!r} cannot be "
            "reached on its scale. Give a smaller effect."
        )
    return float(optimize.brentq(gap, -bracket, bracket, xtol=1e-12, rtol=1e-12))


def draw_latent_answers(
    item: Item,
    profile: Profile,
    location: np.ndarray,
    noise: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Answers (codes) for latent means ``location`` and standard normal ``noise``."""
    latent = location + profile.spread * noise
    if profile.kind == "likert":
        low, high = _likert_bounds(item)
        return np.clip(np.floor(latent + 0.5), low, high)
    if profile.kind == "binary":
        return (latent > 0).astype(float)
    if profile.kind == "quiz":
        correct = latent > 0
        codes = np.array(sorted(float(code) for code in item.labels))
        wrong_codes = codes[codes != item.correct_answer]
        wrong = wrong_codes[rng.integers(0, len(wrong_codes), len(location))]
        return np.where(correct, float(item.correct_answer or 0.0), wrong)
    if profile.kind == "percentage":
        share = 100.0 * special.expit(latent)
        # People heap on multiples of five; rounding both ways keeps the mean.
        heaped = rng.random(len(share)) < 0.4
        return np.where(heaped, np.round(share / 5.0) * 5.0, np.round(share))
    if profile.kind == "lognormal":
        bottom, top = item.bounds
        value = np.round(np.exp(latent) / profile.rounding) * profile.rounding
        value = np.maximum(value, bottom if bottom is not None else 0.0)
        return np.minimum(value, top) if top is not None else value
    raise ValueError(f"draw_latent_answers: item {item.name!r} has no latent ({profile.kind!r})")


def _likert_bounds(item: Item) -> tuple[float, float]:
    low, high = item.bounds
    return (1.0 if low is None else low, 5.0 if high is None else high)


def item_units(item: Item, profile: Profile) -> str:
    """How the true effect of an item is measured."""
    if profile.kind == "quiz":
        return "probability of the correct answer"
    if item.scale == "likert":
        low, high = item.bounds
        return f"likert points ({low:g}-{high:g})"
    if item.scale == "percentage":
        return "percentage points"
    if item.scale == "binary":
        return "probability (share answering 1)"
    if item.scale == "money":
        return "local currency"
    return "count"


def truth_items(instrument: Instrument) -> list[Item]:
    """Items with an exact true effect: latent-driven and asked of the same group in both arms."""
    return [
        item
        for item in instrument.items
        if profile_of(item).kind in LATENT_KINDS and not _asked_after_exposure(item)
    ]


def _asked_after_exposure(item: Item) -> bool:
    # Manipulation checks are asked of those who recall the campaign, a group the campaign
    # itself enlarges: their arm difference is not an effect on a fixed population.
    opener = SKIPS.get(item.name)
    return opener is not None and opener[0] == "exposure_recall"


def resolve_effects(instrument: Instrument, settings: SimulationSettings) -> dict[str, float]:
    """Item -> raw effect (item units) at the first wave after baseline.

    A construct key applies to each of its items in the construct's direction (a
    negative-direction item moves the other way); an item key overrides it.
    """
    allowed = {item.name for item in truth_items(instrument)}
    constructs = {c.name for c in instrument.constructs}
    effects: dict[str, float] = dict.fromkeys(sorted(allowed), 0.0)
    for key, value in settings.effects.items():
        if key in constructs:
            for item in instrument.items_of(key):
                if item.name in allowed:
                    sign = -1.0 if item.direction == "negative" else 1.0
                    effects[item.name] = sign * float(value)
        elif key not in instrument.item_names:
            raise ValueError(
                f"simulate_study: effect key {key!r} is neither an item nor a construct of "
                f"instrument {instrument.id!r}. Name an item or a construct."
            )
    for key, value in settings.effects.items():
        if key in instrument.item_names:
            if key not in allowed and value != 0.0:
                raise ValueError(
                    f"simulate_study: item {key!r} cannot carry a true effect (its answers "
                    "are not driven by a latent, or it is asked only of those who recall the "
                    f"campaign); found {value!r}. Give it an effect of 0 or remove the key."
                )
            if key in allowed:
                effects[key] = float(value)
    return effects
