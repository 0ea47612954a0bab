"""Small studies built in a temporary folder, for tests of the shell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SMALL_INSTRUMENT = """
id = "small"
title = "A small instrument outside the default one"

[special_codes]
dont_know = { code = -88, label = "Don't know" }
refused = { code = -99, label = "Refused" }
never_heard = { code = -66, label = "Never heard of this source" }

[[constructs]]
name = "trust_official"
label = "Trust in official sources"
domain = "trust"

[[constructs]]
name = "risk_perception"
label = "Perceived risk"
domain = "risk"

[[constructs]]
name = "migration_intention"
label = "Intention"
domain = "intention"

[[items]]
name = "trust_iom_un"
construct = "trust_official"
scale = "likert"
question = "How much do you trust IOM?"
minimum = 1
maximum = 5
special_codes = ["dont_know", "refused", "never_heard"]
labels = { "1" = "Not at all", "2" = "A little", "3" = "Somewhat", "4" = "Mostly", \
"5" = "Completely" }

[[items]]
name = "risk_death"
construct = "risk_perception"
scale = "percentage"
question = "Out of 100 people like you, how many die on the way?"

[[items]]
name = "wish_to_leave"
construct = "migration_intention"
scale = "binary"
question = "Would you like to leave?"
labels = { "0" = "No", "1" = "Yes" }
"""

SMALL_STUDY = """
id = "small"
title = "Small test study"
pii = ["respondent_name", "phone", "gps_latitude", "gps_longitude"]

[design]
assignment = "cluster_randomised"
sampling = "panel"

[columns]
respondent = "respondent_id"
cluster = "community"
stratum = "region"
submission = "_uuid"
enumerator = "enumerator_id"
arm = {{ column = "arm", treatment = ["campaign"], comparison = ["comparison"] }}

[[waves]]
name = "baseline"

[[waves]]
name = "endline"

[instrument]
base = "instrument.toml"

[outcomes]
primary = ["trust_iom_un"]

[quality]
out_of_range = "{out_of_range}"
"""

HEADER = (
    "respondent_id,_uuid,community,region,arm,enumerator_id,respondent_name,phone,"
    "gps_latitude,gps_longitude,trust_iom_un,risk_death,wish_to_leave"
)

# Identifying values planted in the raw files; none may leave the raw zone.
PII_VALUES = ("Aminata Zulu-Quartz", "+221 77 901 23 45", "14.712345", "-17.456789")


def wave_rows(wave: str, *, trust_shift: int = 0) -> list[str]:
    """Eight interviews in four communities; ids R1..R8 in every wave (a panel)."""
    rows = []
    for number in range(1, 9):
        community = f"C{(number - 1) // 2 + 1}"
        arm = "campaign" if community in ("C1", "C3") else "comparison"
        region = "north" if community in ("C1", "C2") else "south"
        trust = min(5, 1 + number % 5 + trust_shift)
        trust_text = "-88" if number == 3 else str(trust)
        risk = "-99" if number == 5 else str(10 * number)
        name, phone, latitude, longitude = (
            PII_VALUES
            if number == 1
            else (
                f"Person {number}",
                f"+221 70 000 00 0{number}",
                f"13.{number}00001",
                f"-16.{number}00001",
            )
        )
        rows.append(
            f"R{number},{wave}-{number:04d},{community},{region},{arm},E{number % 2},"
            f"{name},{phone},{latitude},{longitude},{trust_text},{risk},{number % 2}"
        )
    return rows


@pytest.fixture
def small_study(tmp_path: Path) -> Callable[..., Path]:
    """Write a small study (custom instrument, inbox with two CSV waves); return its file."""

    def make(*, out_of_range: str = "refuse") -> Path:
        root = tmp_path / "study"
        (root / "inbox").mkdir(parents=True)
        (root / "instrument.toml").write_text(SMALL_INSTRUMENT, encoding="utf-8")
        (root / "study.toml").write_text(
            SMALL_STUDY.format(out_of_range=out_of_range), encoding="utf-8"
        )
        for wave, shift in (("baseline", 0), ("endline", 1)):
            lines = [HEADER, *wave_rows(wave, trust_shift=shift)]
            (root / "inbox" / f"{wave}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return root / "study.toml"

    return make


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key or warehouse override leaks in from the caller's environment."""
    for name in (
        "TRUSTSHIFT_PSEUDONYM_KEY",
        "TRUSTSHIFT_PSEUDONYM_KEY_SMALL",
        "TRUSTSHIFT_WAREHOUSE",
        "TRUSTSHIFT_WAREHOUSE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
