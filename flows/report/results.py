"""The result tables of one estimation run, read from the warehouse and sorted for the report."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from flows.estimation import read_result
from flows.study import Study
from flows.warehouse import WarehouseConnection, connect, warehouse_path


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResults:
    """The result tables of one run the report reads, with the run's settings."""

    settings: dict[str, str]
    minimum: int
    warnings: pd.DataFrame
    estimates: pd.DataFrame
    catalogue: pd.DataFrame
    sizes: pd.DataFrame
    quality: pd.DataFrame
    reasons: pd.DataFrame
    enumerators: pd.DataFrame
    attrition: pd.DataFrame
    attrition_tests: pd.DataFrame
    lee: pd.DataFrame
    reliability: pd.DataFrame
    trust: pd.DataFrame
    cascade: pd.DataFrame
    beliefs: pd.DataFrame
    inputs: pd.DataFrame
    balance: pd.DataFrame
    balance_joint: pd.DataFrame
    exposure_balance: pd.DataFrame
    change: pd.DataFrame
    effects_by_group: pd.DataFrame
    trust_effects: pd.DataFrame
    released: pd.DataFrame


def read_run_results(study: Study, run_id: str) -> RunResults:
    """Read every result table of ``run_id`` the report shows; the minimum cell size of the run."""
    with connect(warehouse_path(study), read_only=True) as connection:
        return _read_run_results(study, run_id, connection)


def _read_run_results(study: Study, run_id: str, connection: WarehouseConnection) -> RunResults:
    def table(name: str) -> pd.DataFrame:
        return read_result(study, name, run_id, connection=connection)

    stored_settings = table("run_settings")
    settings = dict(zip(stored_settings["name"], stored_settings["value"], strict=True))
    return RunResults(
        settings=settings,
        minimum=int(settings.get("minimum_cell_size", study.design.minimum_cell_size)),
        warnings=table("run_warnings"),
        estimates=table("estimates"),
        catalogue=table("outcome_catalogue"),
        sizes=table("sample_sizes").sort_values(["wave_order", "arm"]),
        quality=table("quality_waves"),
        reasons=table("quarantine_reasons"),
        released=table("released_rows"),
        enumerators=table("enumerator_flags"),
        attrition=table("attrition"),
        attrition_tests=table("attrition_tests"),
        lee=table("lee_bounds"),
        reliability=table("reliability"),
        trust=table("trust_shift").sort_values(["source_order", "wave_order", "arm"]),
        cascade=table("intention_cascade").sort_values(["step_order", "wave_order", "arm"]),
        beliefs=table("risk_beliefs").sort_values(["item", "wave_order", "arm"]),
        inputs=table("input_files"),
        balance=table("balance"),
        balance_joint=table("balance_joint"),
        exposure_balance=table("exposure_balance"),
        change=table("within_arm_change"),
        effects_by_group=table("effects_by_group"),
        trust_effects=table("trust_source_effects").sort_values("source_order"),
    )
