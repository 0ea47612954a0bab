"""The pre-analysis plan: lock what will be tested before the endline is stored, and list
every way a run departs from it."""

from flows.plan.lock import (
    PLAN_FILE,
    LockedPlan,
    PlanError,
    lock_plan,
    plan_deviations,
    plan_from_study,
    read_plan,
)

__all__ = [
    "PLAN_FILE",
    "LockedPlan",
    "PlanError",
    "lock_plan",
    "plan_deviations",
    "plan_from_study",
    "read_plan",
]
