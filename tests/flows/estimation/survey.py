"""A small synthetic survey study on the bundled instrument, written as CSV waves (tests only).

Independent of the simulator: a few communities in two regions, half of each region assigned
to the campaign, with planted effects (more trust in official sources, higher perceived risk,
lower irregular intention after the campaign) so that every report section has content.
``small_cell`` keeps only a handful of comparison respondents at the last wave: a subgroup
under the minimum cell size that no table or plot may show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from flows.instrument import load_instrument

STUDY_TEMPLATE = """
id = "{study_id}"
title = "Synthetic test study"
pii = ["respondent_name", "phone"]

[design]
assignment = "{assignment}"
sampling = "{sampling}"
minimum_cell_size = {minimum_cell_size}

[columns]
respondent = "respondent_id"
cluster = "community"
stratum = "region"
submission = "_uuid"
enumerator = "enumerator_id"
interview_start = "start"
interview_end = "end"
consent = "consent"
{arm_line}

{waves}

[instrument]
base = "migration_campaign"

[outcomes]
primary = ["irregular_intention", "risk_perception", "trust_official"]

[outcomes.families]
trust = ["trust_official", "trust_informal", "trust_smugglers"]
risk = ["risk_perception", "risk_self_death", "risk_asylum_chance"]
knowledge = ["knowledge", "feel_informed"]
intention = ["wish_to_leave", "plan_12_months", "irregular_intention", "legal_intention"]
alternatives = ["local_opportunities", "can_earn_living_here", "knows_legal_pathway"]

[quality]
out_of_range = "quarantine"
"""

ARM_LINE = 'arm = { column = "arm", treatment = ["campaign"], comparison = ["comparison"] }'


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveySettings:
    """Size and shape of the synthetic study."""

    study_id: str = "synthetic"
    n_clusters: int = 12
    per_cluster: int = 14
    waves: tuple[str, ...] = ("baseline", "endline")
    sampling: str = "panel"
    assignment: str = "cluster_randomised"
    minimum_cell_size: int = 10
    small_cell: int | None = None
    seed: int = 7


def _likert(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 1, 5)


def _wave_frame(
    settings: SurveySettings,
    rng: np.random.Generator,
    people: pd.DataFrame,
    wave: str,
    position: int,
) -> pd.DataFrame:
    instrument = load_instrument("migration_campaign")
    n = len(people)
    post = float(position > 0)
    treated = (people["arm"] == "campaign").to_numpy(dtype=float)
    effect = treated * post
    latent = {
        name: people[name].to_numpy() + rng.normal(0, 0.3, n)
        for name in ("trust", "informal", "risk", "intent", "hope")
    }
    columns: dict[str, np.ndarray] = {}
    for item in instrument.items:
        construct = item.construct_name
        noise = rng.normal(0, 0.7, n)
        if item.scale == "likert":
            if construct == "trust_official":
                values = _likert(3 + latent["trust"] + 0.6 * effect + noise)
            elif construct in ("trust_informal", "trust_community"):
                values = _likert(3.5 + latent["informal"] + noise)
            elif construct == "migration_intention":
                shift = -0.5 * effect if item.name == "irregular_intention" else 0.0
                values = _likert(3 + latent["intent"] + shift + noise)
            elif construct == "alternatives_home":
                values = _likert(2.5 + latent["hope"] + 0.3 * effect + noise)
            elif construct == "feeling_informed":
                values = _likert(2.8 + 0.5 * latent["risk"] + 0.5 * effect + noise)
            else:
                values = _likert(3 + noise * 1.4)
        elif item.scale == "percentage":
            truth = item.true_value if item.true_value is not None else 20.0
            values = np.clip(np.rint(truth + 12 * latent["risk"] + 8 * effect + 8 * noise), 0, 100)
        elif item.scale == "binary":
            logit = latent["intent"] if construct == "migration_intention" else noise
            if item.name == "exposure_recall":
                logit = -0.5 + 2.0 * effect
            values = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
        elif item.scale == "categorical":
            codes = np.array([float(code) for code in item.labels])
            if item.correct_answer is not None:
                right = rng.random(n) < 0.45 + 0.2 * effect
                wrong = rng.choice(codes[codes != item.correct_answer], n)
                values = np.where(right, item.correct_answer, wrong)
            else:
                values = rng.choice(codes, n)
        elif item.scale == "select_multiple":
            for choice in item.choices:
                columns[f"{item.name}__{choice}"] = (rng.random(n) < 0.3).astype(float)
            continue
        elif item.name == "age":
            values = people["age"].to_numpy(dtype=float) + position
        elif item.scale == "count":
            values = rng.integers(1, 12, n).astype(float)
        else:  # money
            values = np.rint(rng.lognormal(7, 0.5, n))
        columns[item.name] = values
    frame = pd.DataFrame(columns)
    for name in list(frame.columns):
        if name.startswith("trust_"):
            missing = rng.random(n) < 0.04
            frame.loc[missing, name] = rng.choice([-88.0, -66.0], int(missing.sum()))
        elif name.startswith("risk_") and name != "risk_asylum_chance":
            frame.loc[rng.random(n) < 0.03, name] = -88.0
    start = pd.Timestamp("2025-02-01 09:00") + pd.to_timedelta(position * 120, unit="D")
    starts = start + pd.to_timedelta(rng.integers(0, 60 * 24 * 20, n), unit="min")
    roles = pd.DataFrame(
        {
            "respondent_id": people["respondent_id"].to_numpy(),
            "_uuid": [f"{wave}-{k:05d}" for k in range(n)],
            "community": people["community"].to_numpy(),
            "region": people["region"].to_numpy(),
            "arm": people["arm"].to_numpy(),
            "enumerator_id": people["enumerator_id"].to_numpy(),
            "respondent_name": [f"Person {k}" for k in range(n)],
            "phone": [f"+221 70 {k:07d}" for k in range(n)],
            "start": starts.strftime("%Y-%m-%d %H:%M:%S"),
            "end": (starts + pd.to_timedelta(rng.integers(25, 50, n), unit="min")).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "consent": 1,
            "wave": wave,
        }
    )
    return pd.concat([roles, frame], axis=1)


def _people(settings: SurveySettings, rng: np.random.Generator, tag: str) -> pd.DataFrame:
    rows = []
    for cluster in range(settings.n_clusters):
        region = "north" if cluster % 2 == 0 else "south"
        arm = "campaign" if (cluster // 2) % 2 == 0 else "comparison"
        for person in range(settings.per_cluster):
            rows.append(
                {
                    "respondent_id": f"{tag}{cluster:02d}{person:03d}",
                    "community": f"C{cluster:02d}",
                    "region": region,
                    "arm": arm,
                    "enumerator_id": f"E{(cluster + person) % 5}",
                    "age": float(rng.integers(18, 45)),
                }
            )
    people = pd.DataFrame(rows)
    for name in ("trust", "informal", "risk", "intent", "hope"):
        people[name] = rng.normal(0, 0.8, len(people))
    return people


def survey_waves(settings: SurveySettings) -> dict[str, pd.DataFrame]:
    """Wave name -> the raw export (with identifying columns) of that wave."""
    rng = np.random.default_rng(settings.seed)
    waves: dict[str, pd.DataFrame] = {}
    panel = _people(settings, rng, "P")
    last = len(settings.waves) - 1
    for position, wave in enumerate(settings.waves):
        if settings.sampling == "panel":
            people = panel
            if position > 0:
                people = people[rng.random(len(people)) > 0.08]
        else:
            people = _people(settings, rng, f"W{position}")
        if settings.small_cell is not None and position == last:
            comparison = people[people["arm"] == "comparison"]
            keep = comparison.index[: settings.small_cell]
            people = people[(people["arm"] != "comparison") | people.index.isin(keep)]
        waves[wave] = _wave_frame(settings, rng, people.reset_index(drop=True), wave, position)
    return waves


def write_survey_study(root: Path, settings: SurveySettings | None = None) -> Path:
    """Write study.toml and one CSV per wave into ``root/inbox``; return the study file."""
    settings = settings or SurveySettings()
    root.mkdir(parents=True, exist_ok=True)
    (root / "inbox").mkdir(exist_ok=True)
    waves_toml = "\n".join(f'[[waves]]\nname = "{wave}"\n' for wave in settings.waves)
    text = STUDY_TEMPLATE.format(
        study_id=settings.study_id,
        assignment=settings.assignment,
        sampling=settings.sampling,
        minimum_cell_size=settings.minimum_cell_size,
        arm_line=ARM_LINE if settings.assignment != "pre_post" else "",
        waves=waves_toml,
    )
    (root / "study.toml").write_text(text, encoding="utf-8")
    for wave, frame in survey_waves(settings).items():
        frame.to_csv(root / "inbox" / f"{wave}.csv", index=False)
    return root / "study.toml"
