"""`trustshift demo --workdir`: it deletes only a folder an earlier demo made."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import DEMO_MARKER, _prepare_demo_folder, app

runner = CliRunner()


def test_demo_refuses_a_folder_holding_a_users_file_and_leaves_it_untouched(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.docx").write_text("years of work", encoding="utf-8")

    result = runner.invoke(app, ["demo", "--workdir", str(folder)])

    assert result.exit_code == 2, result.output
    assert "was not made by `trustshift demo`" in result.output
    assert DEMO_MARKER in result.output
    assert (folder / "chapter1.docx").read_text(encoding="utf-8") == "years of work"
    assert sorted(path.name for path in folder.iterdir()) == ["chapter1.docx"]


def test_demo_refuses_a_workdir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me", encoding="utf-8")

    result = runner.invoke(app, ["demo", "--workdir", str(target)])

    assert result.exit_code == 2, result.output
    assert target.read_text(encoding="utf-8") == "keep me"


def test_a_demo_folder_is_marked_and_replaced_by_the_next_demo(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    _prepare_demo_folder(folder)
    assert (folder / DEMO_MARKER).is_file()
    (folder / "warehouse.duckdb").write_text("from the first demo", encoding="utf-8")

    _prepare_demo_folder(folder)

    assert sorted(path.name for path in folder.iterdir()) == [DEMO_MARKER]


def test_an_empty_existing_folder_is_used_and_marked(tmp_path: Path) -> None:
    _prepare_demo_folder(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == [DEMO_MARKER]
