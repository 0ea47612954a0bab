"""A run records the versions of the libraries that computed it, and an upgrade is not reused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy
import pytest

import flows.software
from flows.orchestration.records import StoredWave, code_version, input_fingerprint, run_history
from flows.orchestration.study_flows import evaluate_study
from flows.software import COMPUTING_DISTRIBUTIONS, software_versions
from flows.study import load_study
from flows.warehouse import query, warehouse_path

DRAWS = 99


@pytest.fixture
def numpy_upgraded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Pretend numpy was upgraded (its metadata reports another version) once called."""
    real = flows.software.version

    def upgrade() -> None:
        monkeypatch.setattr(
            flows.software, "version", lambda name: "99.0.0" if name == "numpy" else real(name)
        )

    yield upgrade


def test_software_versions_name_every_computing_library_and_python() -> None:
    found = software_versions()
    assert set(found) == {*COMPUTING_DISTRIBUTIONS, "python"}
    for name in ("numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "pingouin"):
        assert found[name][0].isdigit(), (name, found[name])


def test_the_input_fingerprint_changes_when_a_computing_library_is_upgraded(
    small_study: Callable[..., Path], numpy_upgraded: Callable[[], None]
) -> None:
    study = load_study(small_study())
    wave = StoredWave(wave="baseline", version=1, sha256="a" * 64, file_name="b.csv")
    before = input_fingerprint(study, [wave])
    numpy_upgraded()
    assert input_fingerprint(study, [wave]) != before


@pytest.mark.usefixtures("prefect_harness")
def test_after_an_upgrade_a_run_estimates_again_and_records_the_new_version(
    small_study: Callable[..., Path], numpy_upgraded: Callable[[], None]
) -> None:
    study_file = small_study()
    first = evaluate_study(str(study_file), bootstrap_draws=DRAWS)
    assert first.estimated
    assert evaluate_study(str(study_file), bootstrap_draws=DRAWS).reused_run_id is not None

    numpy_upgraded()
    upgraded = evaluate_study(str(study_file), bootstrap_draws=DRAWS)

    assert upgraded.estimated and upgraded.reused_run_id is None
    study = load_study(study_file)
    recorded = query(
        warehouse_path(study),
        "SELECT run_id, value FROM run_settings WHERE study_id = ? AND name = 'version numpy' "
        "ORDER BY value",
        [study.id],
    )
    assert list(recorded["value"]) == [numpy.__version__, "99.0.0"]
    # One writer of the runs table: the estimation runs and the flow runs name the code alike.
    runs = run_history(study)
    assert {run["kind"] for run in runs} == {"evaluate-study", "estimate"}
    assert {run["code_version"] for run in runs} == {code_version()}


def test_the_run_settings_of_the_methods_appendix_hold_every_computing_library(
    small_study: Callable[..., Path],
) -> None:
    from flows.estimation.run import _settings_table

    study = load_study(small_study())
    settings = _settings_table(study, run_id="r", bootstrap_draws=9, seed=1, lee_draws=9)
    recorded = dict(zip(settings["name"], settings["value"], strict=True))
    for name, found in software_versions().items():
        assert recorded[f"version {name}"] == found
    assert recorded["version scikit-learn"][0].isdigit()
