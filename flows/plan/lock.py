"""Lock a study's pre-analysis plan (SHA-256, time) and compare a run with it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flows.assignment_record import read_assignment_record
from flows.assumptions import study_assumptions
from flows.errors import TrustshiftError
from flows.study import Study

PLAN_FILE = "plan.lock.json"
"""The locked plan, beside the study file."""


class PlanError(TrustshiftError, ValueError):
    """A plan that cannot be locked as asked (already locked, endline already stored)."""

    exit_code = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class LockedPlan:
    """A locked plan: what it holds, when it was locked, its SHA-256 and why it was late."""

    content: dict[str, object]
    locked_at: str
    sha256: str
    reason: str
    stored_waves_at_lock: tuple[str, ...]
    history: tuple[dict[str, object], ...] = ()

    @property
    def assumptions(self) -> list[dict[str, object]]:
        return list(self.content.get("assumptions", []))  # type: ignore[call-overload]

    @property
    def primary(self) -> list[str]:
        return [str(name) for name in self.content.get("primary_outcomes", [])]  # type: ignore[attr-defined]


def main_estimator(study: Study) -> str:
    """The estimator whose rows answer the pre-specified questions."""
    return "ancova" if study.design.sampling == "panel" else "did"


PLANNED_INFERENCE = (
    "the design's primary inference (estimates.primary_inference: the few-clusters method "
    "below the cluster threshold, CR1 from it, HC2 without clusters)"
)


def planned_inference(study: Study) -> str:
    """The primary inference the plan commits to: the design's, as the estimates name it."""
    return PLANNED_INFERENCE


def plan_from_study(study: Study) -> dict[str, object]:
    """Everything the plan freezes, read from the study file (and its instrument's defaults)."""
    assumptions, source = study_assumptions(study.assumptions, instrument=study.instrument.base)
    return {
        "study_id": study.id,
        "design": {"assignment": study.design.assignment, "sampling": study.design.sampling},
        "primary_outcomes": list(study.outcomes.primary),
        "families": {name: list(members) for name, members in study.outcomes.families.items()},
        "primary_wave": study.outcomes.primary_wave or study.wave_names[-1],
        "estimator": main_estimator(study),
        "inference": planned_inference(study),
        "sesoi": dict(sorted(study.outcomes.sesoi.items())),
        "assumptions": [item.model_dump(mode="json") for item in assumptions],
        "assumptions_source": source,
        "assignment_record_sha256": _assignment_record_sha256(study),
    }


def _assignment_record_sha256(study: Study) -> str | None:
    """SHA-256 of the assignment record randomization inference re-draws (None without one):
    the plan freezes which assignment, and which re-randomization rule, the inference uses."""
    record = read_assignment_record(study)
    return None if record is None else record.sha256()


def _digest(content: dict[str, object], locked_at: str) -> str:
    canonical = json.dumps(
        {"content": content, "locked_at": locked_at}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_plan(study: Study) -> LockedPlan | None:
    """The study's locked plan, or None when none was locked. A tampered file is refused."""
    path = study.root / PLAN_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        plan = LockedPlan(
            content=raw["content"],
            locked_at=str(raw["locked_at"]),
            sha256=str(raw["sha256"]),
            reason=str(raw.get("reason", "")),
            stored_waves_at_lock=tuple(raw.get("stored_waves_at_lock", [])),
            history=tuple(raw.get("history", [])),
        )
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise PlanError(
            f"read_plan: {path} is not a locked plan ({error}). Restore it from version "
            "control; never edit it by hand."
        ) from None
    if _digest(plan.content, plan.locked_at) != plan.sha256:
        raise PlanError(
            f"read_plan: {path} was changed after it was locked (its SHA-256 does not match "
            "its content). Restore it from version control, or lock a new plan with "
            "`trustshift plan lock --reason ...`."
        )
    return plan


def _stored_waves(study: Study) -> list[str]:
    from flows import api

    stored = api.waves(study)
    if stored.empty:
        return []
    return [str(wave) for wave in stored.loc[stored["status"] == "stored", "wave"].unique()]


def lock_plan(
    study: Study, *, reason: str | None = None, now: datetime | None = None
) -> LockedPlan:
    """Freeze the plan of ``study`` into ``plan.lock.json`` beside its study file.

    Refused once a wave after the baseline is stored, or when a plan is already locked,
    unless ``reason`` says why; the reason and the waves stored at that moment are recorded,
    and an earlier plan is kept in the file's history.
    """
    stored = _stored_waves(study)
    later = [wave for wave in stored if wave in study.wave_names[1:]]
    existing = read_plan(study)
    if (later or existing) and not (reason and reason.strip()):
        why = (
            f"wave(s) {later} after the baseline are already stored"
            if later
            else f"a plan was already locked at {existing.locked_at if existing else ''}"
        )
        raise PlanError(
            f"lock_plan: study {study.id!r}: {why}, so a plan locked now is not a "
            "pre-analysis plan. Say why with --reason TEXT (it is recorded and shown in every "
            "report)."
        )
    locked_at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    content = plan_from_study(study)
    history = list(existing.history) if existing else []
    if existing:
        history.append(
            {
                "locked_at": existing.locked_at,
                "sha256": existing.sha256,
                "content": existing.content,
            }
        )
    plan = LockedPlan(
        content=content,
        locked_at=locked_at,
        sha256=_digest(content, locked_at),
        reason=(reason or "").strip(),
        stored_waves_at_lock=tuple(stored),
        history=tuple(history),
    )
    payload = {
        "content": plan.content,
        "locked_at": plan.locked_at,
        "sha256": plan.sha256,
        "reason": plan.reason,
        "stored_waves_at_lock": list(plan.stored_waves_at_lock),
        "history": list(plan.history),
    }
    (study.root / PLAN_FILE).write_text(
        json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return plan


def _differences(name: str, planned: object, current: object) -> list[str]:
    if planned == current:
        return []
    return [f"{name}: the plan says {planned!r}; the run used {current!r}"]


def plan_deviations(plan: LockedPlan, study: Study, *, inferences: Iterable[str] = ()) -> list[str]:
    """Every way the study as run departs from the locked plan, one sentence each.

    ``inferences`` are the inference names the run's primary estimates were read with.
    """
    current = plan_from_study(study)
    planned = plan.content
    deviations: list[str] = []
    planned_primary = list(planned.get("primary_outcomes", []))  # type: ignore[call-overload]
    current_primary = list(current["primary_outcomes"])  # type: ignore[call-overload]
    added = [name for name in current_primary if name not in planned_primary]
    dropped = [name for name in planned_primary if name not in current_primary]
    if added or dropped:
        deviations.append(
            f"primary outcomes: the plan names {planned_primary}; the study file now names "
            f"{current_primary} (added {added}, dropped {dropped})"
        )
    for key in ("families", "primary_wave", "estimator", "sesoi", "design"):
        deviations.extend(_differences(key, planned.get(key), current[key]))
    planned_record = planned.get("assignment_record_sha256")
    current_record = current["assignment_record_sha256"]
    if planned_record != current_record:
        deviations.append(
            "assignment record: the plan's randomization inference re-draws the record with "
            f"SHA-256 {planned_record or '(none)'}; the run used {current_record or '(none)'}"
        )
    used = sorted(set(inferences))
    fallback = [name for name in used if name.startswith("cr1 (")]
    if fallback:
        deviations.append(
            f"inference: the plan commits to {planned.get('inference')}; some primary "
            f"estimates were read with {fallback}"
        )
    planned_assumptions = {int(a["number"]): a for a in planned.get("assumptions", [])}  # type: ignore[attr-defined]
    current_assumptions = {int(a["number"]): a for a in current["assumptions"]}  # type: ignore[attr-defined]
    for number in sorted(set(planned_assumptions) | set(current_assumptions)):
        if planned_assumptions.get(number) != current_assumptions.get(number):
            deviations.append(
                f"assumption {number}: the study file's declaration differs from the plan's "
                "(the scorecard reads the plan's)"
            )
    if plan.reason:
        deviations.append(
            f"the plan was locked late or re-locked ({plan.reason}); waves stored then: "
            f"{list(plan.stored_waves_at_lock)}"
        )
    return deviations
