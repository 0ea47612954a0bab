"""Simulate a cluster-randomised campaign study: waves of raw survey rows and their truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from flows.instrument import Instrument, Item
from flows.simulation.answers import (
    EXPOSURE_FOLLOWUPS,
    LATENT_KINDS,
    SKIPS,
    Profile,
    draw_latent_answers,
    expected_answer,
    item_units,
    latent_shift_for,
    profile_of,
    resolve_effects,
    truth_items,
)
from flows.simulation.faults import FAULT_COLUMNS, FaultContext, inject_faults, trust_battery
from flows.simulation.population import (
    Communities,
    Respondents,
    draw_communities,
    draw_respondents,
    uuid4_strings,
)
from flows.simulation.settings import SimulationSettings
from flows.study import Study

# Columns of truth/effects.csv (one row per outcome and wave).
EFFECT_COLUMNS: tuple[str, ...] = ("outcome", "construct", "wave", "true_effect", "units", "level")

# Identifying columns every simulated wave carries (list them in the study's pii).
PII_COLUMNS: tuple[str, ...] = ("respondent_name", "phone", "gps_latitude", "gps_longitude")

# Column names used when the study declares no column for a role.
DEFAULT_ROLE_COLUMNS: dict[str, str] = {
    "cluster": "community",
    "stratum": "region",
    "arm": "arm",
    "weight": "weight",
    "enumerator": "enumerator_id",
    "interview_start": "start",
    "interview_end": "end",
    "submission": "_uuid",
    "consent": "consent",
}

_FALLBACK_START = date(2025, 1, 13)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedWave:
    """One wave as the field would deliver it, and the faults planted in it."""

    name: str
    frame: pd.DataFrame
    faults: pd.DataFrame  # FAULT_COLUMNS; row_number is the 1-based row in `frame`


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedStudy:
    """Every wave of a simulated study with the true effects and planted faults."""

    study: Study
    settings: SimulationSettings
    waves: dict[str, SimulatedWave]
    effects: pd.DataFrame  # EFFECT_COLUMNS

    @property
    def faults(self) -> pd.DataFrame:
        """The planted faults of every wave, in wave order."""
        return pd.concat([wave.faults for wave in self.waves.values()], ignore_index=True).reindex(
            columns=list(FAULT_COLUMNS)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Model:
    """What every wave of one simulated study shares."""

    study: Study
    settings: SimulationSettings
    instrument: Instrument
    columns: dict[str, str]
    treatment_label: str | None
    comparison_label: str
    profiles: dict[str, Profile]
    latent_of: dict[str, int]  # item -> latent column
    n_latents: int
    wave_names: list[str]
    windows: list[tuple[date, date]]
    # (item, wave index) -> latent shift of the campaign arm; item -> trend per wave.
    shifts: dict[tuple[str, int], float]
    trends: dict[str, float]
    raw_effects: dict[str, float]


def simulate_study(study: Study, settings: SimulationSettings) -> SimulatedStudy:
    """Every wave of ``study`` with planted effects and field faults, reproducible by seed."""
    model = _build_model(study, settings)
    seeds = np.random.SeedSequence(settings.seed).spawn(3 + 2 * len(model.wave_names))
    communities, fabricator = _draw_design(model, np.random.default_rng(seeds[0]))
    n = settings.respondents_per_cluster
    per_cluster = np.full(communities.n_clusters, n)
    panel_rng = np.random.default_rng(seeds[1])
    attrition_draw = np.random.default_rng(seeds[2])
    sampling = settings.sampling or study.design.sampling
    waves: dict[str, SimulatedWave] = {}
    panel: Respondents | None = None
    latents: np.ndarray | None = None
    staying: np.ndarray | None = None
    for t, wave in enumerate(model.wave_names):
        rng = np.random.default_rng(seeds[3 + 2 * t])
        fault_rng = np.random.default_rng(seeds[4 + 2 * t])
        if sampling == "panel":
            if panel is None or latents is None or staying is None:
                panel = draw_respondents(panel_rng, communities, per_cluster)
                latents = panel_rng.standard_normal((model.n_latents, len(panel)))
                staying = attrition_draw.random(len(panel))
            else:
                rho = settings.panel_correlation
                fresh = panel_rng.standard_normal(latents.shape)
                latents = rho * latents + np.sqrt(1 - rho**2) * fresh
            present = np.ones(len(panel), dtype=bool)
            if t > 0:
                rate = (
                    settings.attrition_at(t)
                    + np.where(communities.campaign[panel.cluster], 0.5, -0.5)
                    * settings.differential_attrition
                )
                present = staying >= np.clip(rate, 0.0, 1.0)
            respondents, wave_latents = panel.subset(present), latents[:, present]
        else:
            respondents = draw_respondents(rng, communities, per_cluster, id_prefix=f"W{t + 1}-")
            wave_latents = rng.standard_normal((model.n_latents, len(respondents)))
        waves[wave] = _simulate_wave(
            model, communities, respondents, wave_latents, t, rng, fault_rng, fabricator
        )
    return SimulatedStudy(
        study=study, settings=settings, waves=waves, effects=_true_effects(model, communities)
    )


def simulate_wave_frame(
    study: Study, settings: SimulationSettings, wave: str, n_respondents: int
) -> SimulatedWave:
    """One cross-section of ``n_respondents`` at ``wave``, faults included (the fast path).

    The respondents are spread evenly over ``settings.n_clusters`` communities; effects,
    trends and faults are those of :func:`simulate_study` for that wave.
    """
    if wave not in study.wave_names:
        raise ValueError(
            f"simulate_wave_frame: wave {wave!r} is not a wave of study {study.id!r}; "
            f"waves: {study.wave_names}. Name one of them."
        )
    if n_respondents < settings.n_clusters:
        raise ValueError(
            f"simulate_wave_frame: n_respondents must be at least n_clusters "
            f"({settings.n_clusters}); found {n_respondents!r}. Ask for more respondents."
        )
    model = _build_model(study, settings)
    t = model.wave_names.index(wave)
    seeds = np.random.SeedSequence([settings.seed, t, n_respondents]).spawn(3)
    communities, fabricator = _draw_design(model, np.random.default_rng(seeds[0]))
    base, extra = divmod(n_respondents, communities.n_clusters)
    per_cluster = np.full(communities.n_clusters, base)
    per_cluster[:extra] += 1
    rng = np.random.default_rng(seeds[1])
    respondents = draw_respondents(rng, communities, per_cluster)
    latents = rng.standard_normal((model.n_latents, len(respondents)))
    return _simulate_wave(
        model, communities, respondents, latents, t, rng, np.random.default_rng(seeds[2]),
        fabricator,
    )  # fmt: skip


# -- model -----------------------------------------------------------------------------------


def _build_model(study: Study, settings: SimulationSettings) -> _Model:
    instrument = study.resolved_instrument()
    profiles = {item.name: profile_of(item) for item in instrument.items}
    constructs = [c.name for c in instrument.constructs]
    latent_of: dict[str, int] = {}
    n_latents = len(constructs)
    for item in instrument.items:
        if profiles[item.name].own_latent:
            latent_of[item.name] = n_latents
            n_latents += 1
        else:
            latent_of[item.name] = constructs.index(item.construct_name)
    columns = {
        role: getattr(study.columns, role) or name for role, name in DEFAULT_ROLE_COLUMNS.items()
    }
    arm = study.columns.arm
    if arm is not None:
        columns["arm"] = arm.column
    columns["respondent"] = study.columns.respondent
    trends: dict[str, float] = {}
    for key, value in settings.trends.items():
        if key in constructs:
            for item in instrument.items_of(key):
                sign = -1.0 if item.direction == "negative" else 1.0
                trends.setdefault(item.name, sign * float(value))
        elif key not in instrument.item_names:
            raise ValueError(
                f"simulate_study: trend key {key!r} is neither an item nor a construct of "
                f"instrument {instrument.id!r}. Name an item or a construct."
            )
    for key, value in settings.trends.items():
        if key in instrument.item_names:
            trends[key] = float(value)
    return _Model(
        study=study,
        settings=settings,
        instrument=instrument,
        columns=columns,
        treatment_label=arm.treatment[0] if arm else None,
        comparison_label=arm.comparison[0] if arm and arm.comparison else "comparison",
        profiles=profiles,
        latent_of=latent_of,
        n_latents=n_latents,
        wave_names=study.wave_names,
        windows=_fieldwork_windows(study),
        shifts={},
        trends=trends,
        raw_effects=resolve_effects(instrument, settings),
    )


def _fieldwork_windows(study: Study) -> list[tuple[date, date]]:
    windows: list[tuple[date, date]] = []
    for t, wave in enumerate(study.waves):
        start = wave.fieldwork_start or (
            windows[-1][1] + timedelta(days=100) if windows else _FALLBACK_START
        )
        end = wave.fieldwork_end or start + timedelta(days=45)
        windows.append((start, end))
        del t
    return windows


def _draw_design(model: _Model, rng: np.random.Generator) -> tuple[Communities, int | None]:
    settings = model.settings
    communities = draw_communities(
        rng,
        n_clusters=settings.n_clusters,
        n_strata=settings.n_strata,
        n_enumerators=settings.n_enumerators,
        n_latents=model.n_latents,
    )
    fabricator = int(rng.integers(0, settings.n_enumerators))
    has_fabricator = settings.fault_rate("fabricating_enumerator") > 0
    return communities, fabricator if has_fabricator else None


def _stratum_bases(
    model: _Model, communities: Communities, item: Item, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Latent mean of ``item`` per stratum at wave ``t`` without the campaign, and weights."""
    profile = model.profiles[item.name]
    k = model.latent_of[item.name]
    offsets = communities.stratum_offsets[:, k] * profile.spread
    trend = model.trends.get(item.name, 0.0) * t * profile.spread
    counts = np.bincount(communities.stratum, minlength=len(communities.region_names))
    return profile.location + offsets + trend, counts / counts.sum()


def _campaign_shift(model: _Model, communities: Communities, item: Item, t: int) -> float:
    if t == 0:
        return 0.0
    key = (item.name, t)
    if key not in model.shifts:
        target = model.raw_effects.get(item.name, 0.0) * model.settings.persistence_at(t)
        base, weights = _stratum_bases(model, communities, item, t)
        model.shifts[key] = latent_shift_for(
            item, model.profiles[item.name], base=base, weights=weights, target=target
        )
    return model.shifts[key]


def _true_effects(model: _Model, communities: Communities) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    items = truth_items(model.instrument)
    for t, wave in enumerate(model.wave_names):
        by_construct: dict[str, list[tuple[float, str]]] = {}
        for item in items:
            profile = model.profiles[item.name]
            shift = _campaign_shift(model, communities, item, t)
            base, weights = _stratum_bases(model, communities, item, t)
            effect = float(
                np.dot(
                    weights,
                    expected_answer(item, profile, base + shift)
                    - expected_answer(item, profile, base),
                )
            )
            units = item_units(item, profile)
            rows.append(
                {
                    "outcome": item.name,
                    "construct": item.construct_name,
                    "wave": wave,
                    "true_effect": round(effect, 10),
                    "units": units,
                    "level": "item",
                }
            )
            sign = -1.0 if item.direction == "negative" else 1.0
            by_construct.setdefault(item.construct_name, []).append((sign * effect, units))
        for construct in model.instrument.constructs:
            members = by_construct.get(construct.name, [])
            all_items = model.instrument.items_of(construct.name)
            units_seen = {units for _, units in members}
            # A construct gets a row when every item has a truth in one unit: the effect on
            # the mean of its items, negative-direction items reversed.
            if len(all_items) < 2 or len(members) != len(all_items) or len(units_seen) != 1:
                continue
            units = units_seen.pop()
            if units.startswith("probability of the correct"):
                units = "share of quiz answers correct"
            rows.append(
                {
                    "outcome": construct.name,
                    "construct": construct.name,
                    "wave": wave,
                    "true_effect": round(float(np.mean([e for e, _ in members])), 10),
                    "units": f"mean of items: {units}",
                    "level": "construct",
                }
            )
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


# -- one wave --------------------------------------------------------------------------------


def _simulate_wave(
    model: _Model,
    communities: Communities,
    respondents: Respondents,
    latents: np.ndarray,
    t: int,
    rng: np.random.Generator,
    fault_rng: np.random.Generator,
    fabricator: int | None,
) -> SimulatedWave:
    settings = model.settings
    # Rows come in the order the interviews were held.
    start, end = _schedule(model, communities, respondents, t, rng)
    order = np.argsort(start, kind="stable")
    respondents, latents = respondents.subset(order), latents[:, order]
    times = (start[order], end[order])
    n = len(respondents)
    cluster = respondents.cluster
    campaign_now = communities.campaign[cluster] & (t > 0)
    icc = settings.icc
    # Construct latents (one row per latent): a community part with share icc, the rest
    # the respondent's own.
    latent_cache: dict[int, np.ndarray] = {}

    def latent(k: int) -> np.ndarray:
        if k not in latent_cache:
            latent_cache[k] = (
                np.sqrt(icc) * communities.effects[:, k][cluster] + np.sqrt(1 - icc) * latents[k]
            )
        return latent_cache[k]

    loading = settings.item_loading
    answers: dict[str, np.ndarray] = {}
    for item in model.instrument.items:
        profile = model.profiles[item.name]
        if profile.kind in LATENT_KINDS:
            sign = -1.0 if item.direction == "negative" else 1.0
            noise = sign * (
                loading * latent(model.latent_of[item.name])
                + np.sqrt(1 - loading**2) * rng.standard_normal(n)
            )
            k = model.latent_of[item.name]
            location = (
                profile.location
                + communities.stratum_offsets[communities.stratum[cluster], k] * profile.spread
                + model.trends.get(item.name, 0.0) * t * profile.spread
                + campaign_now * _campaign_shift(model, communities, item, t)
            )
            answers[item.name] = draw_latent_answers(item, profile, location, noise, rng)
        elif profile.kind == "categorical":
            answers[item.name] = _categorical(rng, profile.probabilities, n)
        elif profile.kind == "select":
            for choice, values in _select(rng, item, profile, campaign_now).items():
                answers[f"{item.name}__{choice}"] = values
        else:
            answers[item.name] = _fixed(rng, item, respondents, campaign_now, t, model)
    _apply_skips(model.instrument, answers)
    _apply_missing_codes(model, answers, rng)
    data = _assemble(model, communities, respondents, answers, times, t, rng)
    data, faults = inject_faults(
        data,
        context=FaultContext(
            study=model.study,
            instrument=model.instrument,
            settings=settings,
            columns=model.columns,
            battery=trust_battery(model.study, model.instrument),
            enumerator_label=_enumerator_label(fabricator) if fabricator is not None else None,
        ),
        wave=model.wave_names[t],
        rng=fault_rng,
    )
    return SimulatedWave(name=model.wave_names[t], frame=_frame(data), faults=faults)


def _frame(data: dict[str, np.ndarray]) -> pd.DataFrame:
    # Text columns stay object arrays: converting a million strings to pandas' string dtype
    # costs seconds and changes nothing in the written files.
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object, copy=False) if values.dtype == object else values
            for name, values in data.items()
        },
        copy=False,
    )


def _enumerator_label(index: int | np.ndarray) -> str:
    return f"E{int(index) + 1:02d}"


def _categorical(rng: np.random.Generator, probabilities: dict[str, float], n: int) -> np.ndarray:
    codes = np.array([float(code) for code in probabilities])
    cumulative = np.cumsum(list(probabilities.values()))
    cumulative /= cumulative[-1]
    return codes[np.searchsorted(cumulative, rng.random(n), side="right").clip(0, len(codes) - 1)]


def _select(
    rng: np.random.Generator, item: Item, profile: Profile, campaign_now: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(campaign_now)
    if profile.by_campaign is not None and set(item.choices) == set(profile.by_campaign):
        shares = {
            choice: np.where(campaign_now, after, before)
            for choice, (before, after) in profile.by_campaign.items()
        }
    else:
        shares = {
            choice: np.full(n, profile.probabilities.get(choice, 0.3)) for choice in item.choices
        }
    values = {choice: (rng.random(n) < share).astype(float) for choice, share in shares.items()}
    # Who made preparations (or heard the message) names at least one of them.
    empty = np.flatnonzero(sum(values.values()) == 0)
    names = list(values)
    pick = rng.integers(0, len(names), len(empty))
    for k, choice in enumerate(names):
        values[choice][empty[pick == k]] = 1.0
    return values


def _fixed(
    rng: np.random.Generator,
    item: Item,
    respondents: Respondents,
    campaign_now: np.ndarray,
    t: int,
    model: _Model,
) -> np.ndarray:
    n = len(respondents)
    name = item.name
    if name in EXPOSURE_FOLLOWUPS:
        before, after = EXPOSURE_FOLLOWUPS[name]
        return (rng.random(n) < np.where(campaign_now, after, before)).astype(float)
    profile = model.profiles[name]
    if profile.kind == "age_at_interview":
        elapsed = (model.windows[t][0] - model.windows[0][0]).days / 365.25
        return np.floor(respondents.age_years + elapsed)
    if profile.kind == "respondent" and profile.respondent is not None:
        return getattr(respondents, profile.respondent).astype(float)
    if profile.kind == "relatives_abroad_count":
        return np.where(respondents.relatives_abroad == 1, 1 + rng.poisson(1.2, n), 0).astype(float)
    raise ValueError(f"simulate_study: no generator for item {name!r}")  # pragma: no cover


def _apply_skips(instrument: Instrument, answers: dict[str, np.ndarray]) -> None:
    not_applicable = instrument.special_codes.get("not_applicable")
    if not_applicable is None:
        return
    for name, (opener, opening_value) in SKIPS.items():
        if name not in instrument.item_names or opener not in answers:
            continue
        item = instrument.item(name)
        if "not_applicable" not in item.special_codes:
            continue
        closed = answers[opener] != opening_value
        for stored in item.stored_names():
            answers[stored] = np.where(closed, not_applicable.code, answers[stored])


def _apply_missing_codes(
    model: _Model, answers: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    """Don't know on risk beliefs and trust, never heard of some sources, a few refusals."""
    instrument = model.instrument
    settings = model.settings
    codes = {name: code.code for name, code in instrument.special_codes.items()}
    domains = {c.name: c.domain for c in instrument.constructs}
    dont_know = settings.fault_rate("dont_know")
    for item in instrument.items:
        if item.scale == "select_multiple":
            continue
        values = answers[item.name]
        answered = values >= 0
        domain = domains[item.construct_name]
        if "never_heard" in item.special_codes and "never_heard" in codes:
            rate = settings.never_heard_rates.get(item.name, 0.0)
            hit = answered & (rng.random(len(values)) < rate)
            values[hit] = codes["never_heard"]
            answered &= ~hit
        if (
            domain in ("risk", "trust")
            and "dont_know" in item.special_codes
            and "dont_know" in codes
        ):
            hit = answered & (rng.random(len(values)) < dont_know)
            values[hit] = codes["dont_know"]
            answered &= ~hit
        sensitive = domain == "intention" or model.profiles[item.name].sensitive
        if sensitive and "refused" in item.special_codes and "refused" in codes:
            hit = answered & (rng.random(len(values)) < settings.refused_rate)
            values[hit] = codes["refused"]


def _schedule(
    model: _Model,
    communities: Communities,
    respondents: Respondents,
    t: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Interview start and end times inside the wave's fieldwork window."""
    settings = model.settings
    n = len(respondents)
    cluster = respondents.cluster
    window_start, window_end = model.windows[t]
    n_days = (window_end - window_start).days + 1
    # Each enumerator works through his communities one after another over the window.
    enumerator = communities.enumerator[cluster]
    workload = np.bincount(communities.enumerator, minlength=settings.n_enumerators)
    position = np.zeros(communities.n_clusters, dtype=int)
    for e in range(settings.n_enumerators):
        members = np.flatnonzero(communities.enumerator == e)
        position[members] = np.arange(len(members))
    slot = n_days / workload[enumerator]
    day = np.floor((position[cluster] + rng.random(n)) * slot).clip(0, n_days - 1)
    seconds_in_day = 8 * 3600 + rng.integers(0, int(8.5 * 3600), n)
    start = (
        np.datetime64(window_start.isoformat(), "s")
        + (day * 86400).astype("timedelta64[s]")
        + seconds_in_day.astype("timedelta64[s]")
    )
    typical = settings.typical_duration_minutes
    minutes = np.exp(rng.normal(np.log(typical), 0.22, n)).clip(0.5 * typical, 2.4 * typical)
    end = start + np.round(minutes * 60).astype("timedelta64[s]")
    return start, end


def _assemble(
    model: _Model,
    communities: Communities,
    respondents: Respondents,
    answers: dict[str, np.ndarray],
    times: tuple[np.ndarray, np.ndarray],
    t: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """The wave's columns in file order."""
    settings = model.settings
    columns = model.columns
    n = len(respondents)
    cluster = respondents.cluster
    enumerator = communities.enumerator[cluster]
    start, end = times
    data: dict[str, np.ndarray] = {
        columns["respondent"]: respondents.respondent_id,
        columns["cluster"]: communities.cluster_id[cluster],
        columns["stratum"]: np.array(communities.region_names, dtype=object)[
            communities.stratum[cluster]
        ],
    }
    if model.treatment_label is not None:
        labels = np.array([model.comparison_label, model.treatment_label], dtype=object)
        data[columns["arm"]] = labels[communities.campaign[cluster].astype(np.int64)]
    if model.study.columns.wave:
        data[model.study.columns.wave] = np.full(n, model.wave_names[t], dtype=object)
    data[columns["weight"]] = np.round(
        communities.population[cluster] / settings.respondents_per_cluster, 3
    )
    data[columns["enumerator"]] = np.array(
        [_enumerator_label(e) for e in range(settings.n_enumerators)], dtype=object
    )[enumerator]
    data[columns["interview_start"]] = start
    data[columns["interview_end"]] = end
    data[columns["submission"]] = uuid4_strings(rng, n)
    data[columns["consent"]] = np.ones(n, dtype=np.int64)
    data["respondent_name"] = respondents.name
    data["phone"] = respondents.phone
    data["gps_latitude"] = respondents.latitude
    data["gps_longitude"] = respondents.longitude
    for item in model.instrument.items:
        for stored in item.stored_names():
            data[stored] = answers[stored].astype(np.int64)
    return data
