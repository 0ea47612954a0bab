"""Simulate a set of campaign studies with known, heterogeneous effects, as exported estimates.

Each study is a small cluster-randomised panel (its own country, region, messenger, campaign
type, size); its true standardized effect on each outcome is drawn around a planted mean,
shifted by the messenger, with a planted between-study SD. The study is then estimated as
the pipeline does (ANCOVA with CR1 errors, ``measurement.effects.estimate_ancova``) and only
its estimates table is written: a synthesis of these files needs no microdata.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from measurement.effects import estimate_ancova
from measurement.errors import FewClustersWarning
from measurement.study_effects import EFFECT_COLUMNS


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedOutcome:
    """The planted truth of one outcome across studies (standardized units)."""

    name: str
    construct: str
    family: str
    mean: float
    tau: float
    returnee_shift: float = 0.0
    sd: float = 1.0
    sesoi: float = 0.15


PLANTED: tuple[PlantedOutcome, ...] = (
    PlantedOutcome(
        name="risk_perception", construct="risk_perception", family="risk", mean=0.20,
        tau=0.08, returnee_shift=0.15, sd=18.0,
    ),
    PlantedOutcome(
        name="irregular_intention", construct="migration_intention", family="intention",
        mean=-0.12, tau=0.06, sd=1.1,
    ),
    PlantedOutcome(
        name="trust_official", construct="trust_official", family="trust", mean=0.0,
        tau=0.0, sd=0.9,
    ),
)  # fmt: skip

COUNTRIES: tuple[tuple[str, str], ...] = (
    ("Senegal", "West Africa"),
    ("Guinea", "West Africa"),
    ("The Gambia", "West Africa"),
    ("Nigeria", "West Africa"),
    ("Ethiopia", "Horn of Africa"),
    ("Somalia", "Horn of Africa"),
    ("Afghanistan", "Asia"),
    ("Albania", "Western Balkans"),
)
MESSENGERS = ("returnee", "government", "iom")
CAMPAIGN_TYPES = ("town hall", "media", "school")
CHANNELS = {"town hall": "community meeting", "media": "radio and social media", "school": "class"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthesisSettings:
    """How many studies, how large, and the seed."""

    n_studies: int = 10
    seed: int = 20261201
    clusters: tuple[int, int] = (30, 60)
    respondents_per_cluster: tuple[int, int] = (8, 16)
    follow_up_share: float = 0.3
    outcomes: tuple[PlantedOutcome, ...] = field(default=PLANTED)


def _study_frame(
    rng: np.random.Generator, *, clusters: int, per_cluster: int, effects: dict[str, float],
    outcomes: tuple[PlantedOutcome, ...], waves: int,
) -> pd.DataFrame:  # fmt: skip
    cluster = np.repeat(np.arange(clusters), per_cluster)
    treated = (rng.permutation(clusters) < clusters // 2).astype(float)[cluster]
    frame = pd.DataFrame({"cluster": cluster, "treated": treated})
    for spec in outcomes:
        shared = rng.normal(0, np.sqrt(0.1), size=clusters)[cluster]
        baseline = shared + rng.normal(0, np.sqrt(0.9), size=len(cluster))
        frame[f"{spec.name}__baseline"] = 50 + spec.sd * baseline
        for wave in range(waves):
            later = (
                0.5 * baseline
                + effects[spec.name] * (0.7**wave) * treated
                + rng.normal(0, np.sqrt(0.05), size=clusters)[cluster]
                + rng.normal(0, np.sqrt(0.6), size=len(cluster))
            )
            frame[f"{spec.name}__{wave}"] = 50 + spec.sd * later
    return frame


def _estimate_rows(
    frame: pd.DataFrame, outcomes: tuple[PlantedOutcome, ...], wave_names: list[str]
) -> pd.DataFrame:
    rows = []
    for number, wave in enumerate(wave_names):
        for spec in outcomes:
            data = frame.rename(
                columns={f"{spec.name}__{number}": spec.name, f"{spec.name}__baseline": "base"}
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FewClustersWarning)
                effect = estimate_ancova(
                    data, outcome=spec.name, treated="treated", baseline="base", cluster="cluster"
                )
            row: dict[str, object] = dict.fromkeys(EFFECT_COLUMNS, np.nan)
            row.update(
                outcome=spec.name,
                construct=spec.construct,
                family=spec.family,
                waves_compared=f"baseline vs {wave}",
                estimator="ancova",
                term=effect.term,
                estimate=effect.estimate,
                std_error=effect.std_error,
                statistic=effect.statistic,
                conf_low=effect.conf_low,
                conf_high=effect.conf_high,
                p_value=effect.p_value,
                n_obs=effect.n_obs,
                n_clusters=effect.n_clusters,
                comparison_mean=effect.comparison_mean,
                standardized_effect=effect.standardized_effect,
                specification=effect.specification,
                inference=effect.inference,
                notes="",
                warnings="; ".join(effect.warnings),
                p_value_primary=effect.p_value,
                conf_low_primary=effect.conf_low,
                conf_high_primary=effect.conf_high,
                primary_inference="cr1",
                wave=wave,
                is_primary=True,
                n_smallest_cell=int(frame.groupby("treated").size().min()),
            )
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedSynthesis:
    """Every study's exported estimates, its description, and the planted truth."""

    estimates: dict[str, pd.DataFrame]
    studies: pd.DataFrame
    truth: dict[str, object]


def simulate_synthesis(settings: SynthesisSettings | None = None) -> SimulatedSynthesis:
    """Simulate ``n_studies`` studies and estimate each one; return their estimate tables."""
    settings = settings or SynthesisSettings()
    rng = np.random.default_rng(settings.seed)
    estimates: dict[str, pd.DataFrame] = {}
    described: list[dict[str, object]] = []
    true_effects: list[dict[str, object]] = []
    for number in range(settings.n_studies):
        country, region = COUNTRIES[number % len(COUNTRIES)]
        messenger = MESSENGERS[number % len(MESSENGERS)]
        kind = CAMPAIGN_TYPES[(number // 2) % len(CAMPAIGN_TYPES)]
        study = f"{country.lower().replace(' ', '_')}_{number + 1:02d}"
        clusters = int(rng.integers(settings.clusters[0], settings.clusters[1] + 1))
        per_cluster = int(
            rng.integers(
                settings.respondents_per_cluster[0], settings.respondents_per_cluster[1] + 1
            )
        )
        effects = {
            spec.name: spec.mean
            + spec.returnee_shift * (messenger == "returnee")
            + float(rng.normal(0, spec.tau) if spec.tau > 0 else 0.0)
            for spec in settings.outcomes
        }
        waves = ["endline", "follow_up"] if rng.random() < settings.follow_up_share else ["endline"]
        frame = _study_frame(
            rng, clusters=clusters, per_cluster=per_cluster, effects=effects,
            outcomes=settings.outcomes, waves=len(waves),
        )  # fmt: skip
        estimates[study] = _estimate_rows(frame, settings.outcomes, waves)
        months = float(rng.integers(2, 13))
        described.append(
            {
                "id": study,
                "country": country,
                "region": region,
                "messenger": messenger,
                "campaign_type": kind,
                "channel": CHANNELS[kind],
                "months_since_campaign": months,
                "n_clusters": clusters,
                "respondents_per_cluster": per_cluster,
                "waves": ", ".join(waves),
            }
        )
        true_effects.extend(
            {"study": study, "outcome": name, "true_effect": value}
            for name, value in effects.items()
        )
    returnee_share = sum(row["messenger"] == "returnee" for row in described) / len(described)
    truth = {
        "seed": settings.seed,
        "n_studies": settings.n_studies,
        "outcomes": {
            spec.name: {
                "mean": spec.mean,
                "tau": spec.tau,
                "returnee_shift": spec.returnee_shift,
                "mean_over_these_studies": spec.mean + spec.returnee_shift * returnee_share,
            }
            for spec in settings.outcomes
        },
        "study_effects": true_effects,
        "note": "effects of the first later wave; a follow-up keeps 70% of it",
    }
    return SimulatedSynthesis(estimates=estimates, studies=pd.DataFrame(described), truth=truth)


_ASSUMPTIONS = """
[[assumptions]]
number = 1
name = "Risk information"
claim = "informed people will not leave: raising perceived risk lowers irregular intention"
headline = { outcome = "irregular_intention", direction = "lower" }
premise = [{ outcome = "risk_perception", direction = "higher" }]

[[assumptions]]
number = 2
name = "Credibility"
claim = "people believe official messages: the campaign raises trust in official sources"
headline = { outcome = "trust_official", direction = "higher" }

[[assumptions]]
number = 3
name = "Deterrence"
claim = "frightening messages discourage migration: intention and preparations fall"
headline = { outcome = "irregular_intention", direction = "lower" }
premise = [{ outcome = "risk_perception", direction = "higher" }]

[[assumptions]]
number = 4
name = "Decision-making"
claim = "the individual decides: effects do not depend on who takes part in the decision"
moderator = { outcome = "irregular_intention", grouping = "decides_alone" }
"""


def synthesis_file_text(simulated: SimulatedSynthesis, *, title: str, header: str) -> str:
    """The synthesis.toml naming every simulated study's exported estimates."""
    lines = [header.rstrip(), 'id = "simulated_synthesis"', f'title = "{title}"']
    lines += ['moderators = ["messenger", "region", "months_since_campaign"]', ""]
    for spec in PLANTED:
        lines += ["[[outcomes]]", f'name = "{spec.name}"', f"sesoi = {spec.sesoi}", ""]
    for row in simulated.studies.itertuples(index=False):
        lines += [
            "[[studies]]",
            f'id = "{row.id}"',
            f'estimates = "estimates/{row.id}.csv"',
            f'country = "{row.country}"',
            f'region = "{row.region}"',
            f'messenger = "{row.messenger}"',
            f'campaign_type = "{row.campaign_type}"',
            f'channel = "{row.channel}"',
            f"months_since_campaign = {row.months_since_campaign}",
            'design = "cluster_randomised"',
            'primary_wave = "endline"',
            f"all_waves = {'true' if 'follow_up' in str(row.waves) else 'false'}",
            "",
        ]
    return "\n".join(lines) + _ASSUMPTIONS


def write_simulated_synthesis(
    simulated: SimulatedSynthesis, folder: Path, *, title: str, header: str = ""
) -> Path:
    """Write estimates/<study>.csv, synthesis.toml and truth/ into ``folder``; return the file."""
    (folder / "estimates").mkdir(parents=True, exist_ok=True)
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    for study, table in simulated.estimates.items():
        table.to_csv(folder / "estimates" / f"{study}.csv", index=False, float_format="%.10g")
    simulated.studies.to_csv(folder / "truth" / "studies.csv", index=False)
    (folder / "truth" / "truth.json").write_text(
        json.dumps(simulated.truth, indent=2) + "\n", encoding="utf-8"
    )
    path = folder / "synthesis.toml"
    path.write_text(synthesis_file_text(simulated, title=title, header=header), encoding="utf-8")
    return path
