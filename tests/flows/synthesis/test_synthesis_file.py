"""The synthesis file: documented keys load, mistakes are named with the key and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flows.errors import StudyFileError
from flows.synthesis.file import load_synthesis, synthesis_assumptions
from tests.flows.synthesis.conftest import SYNTHESIS_FILE


def test_a_synthesis_file_written_from_the_readme_loads(
    partner_synthesis: Callable[..., Path],
) -> None:
    synthesis = load_synthesis(partner_synthesis())
    assert [study.id for study in synthesis.studies] == ["dakar", "conakry", "banjul"]
    assert synthesis.sesoi == {"trust_official": 0.2, "irregular_intention": 0.1}
    assert synthesis.method == "REML" and synthesis.test == "knha"
    assert synthesis.studies[2].outcomes == {"trust_gov": "trust_official"}
    assumptions, source = synthesis_assumptions(synthesis)
    assert [a.number for a in assumptions] == [2] and "synthesis file" in source


def test_an_unknown_key_is_named_with_its_path(partner_synthesis: Callable[..., Path]) -> None:
    path = partner_synthesis(
        SYNTHESIS_FILE.replace('region = "West Africa"\n', 'regoin = "x"\n', 1)
    )
    with pytest.raises(StudyFileError, match=r"studies\.0\.regoin: unknown key"):
        load_synthesis(path)


def test_an_outcome_outside_the_vocabulary_is_refused_with_the_fix(
    partner_synthesis: Callable[..., Path],
) -> None:
    path = partner_synthesis(SYNTHESIS_FILE.replace('name = "trust_official"', 'name = "trust_x"'))
    with pytest.raises(StudyFileError, match=r"outcomes \['trust_x'\] are not constructs or items"):
        load_synthesis(path)


def test_a_missing_estimates_file_names_the_study_and_the_folder(
    partner_synthesis: Callable[..., Path],
) -> None:
    path = partner_synthesis(SYNTHESIS_FILE.replace("shared/dakar.csv", "shared/absent.csv"))
    with pytest.raises(StudyFileError, match=r"studies\.dakar: the file 'shared/absent.csv'"):
        load_synthesis(path)


def test_a_study_needs_exactly_one_source(partner_synthesis: Callable[..., Path]) -> None:
    path = partner_synthesis(
        SYNTHESIS_FILE.replace(
            'estimates = "shared/dakar.csv"', 'study = "a.toml"\nestimates = "shared/dakar.csv"'
        )
    )
    with pytest.raises(StudyFileError, match="give exactly one of estimates"):
        load_synthesis(path)


def test_an_unknown_moderator_lists_the_valid_ones(partner_synthesis: Callable[..., Path]) -> None:
    path = partner_synthesis(SYNTHESIS_FILE.replace('["messenger"]', '["colour"]'))
    with pytest.raises(StudyFileError, match=r"\['colour'\] are unknown; choose from"):
        load_synthesis(path)


def test_a_missing_synthesis_file_says_where_an_example_is(tmp_path: Path) -> None:
    with pytest.raises(StudyFileError, match=r"data/syntheses/example/synthesis\.toml"):
        load_synthesis(tmp_path / "synthesis.toml")
