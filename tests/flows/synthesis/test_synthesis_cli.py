"""`trustshift simulate-synthesis` and `trustshift synthesize`: exit codes and what they print."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def test_simulate_then_synthesize_writes_the_report_and_reuses_it_when_unchanged(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "synthesis"
    simulated = runner.invoke(
        app, ["simulate-synthesis", "--out", str(folder), "--studies", "4", "--seed", "3"]
    )
    assert simulated.exit_code == 0, simulated.output
    assert (folder / "truth" / "truth.json").is_file()
    first = runner.invoke(app, ["synthesize", str(folder / "synthesis.toml"), "--no-prefect"])
    assert first.exit_code == 0, first.output
    assert "Pooled 4 studies" in first.output
    assert (folder / "synthesis" / "report.html").is_file()
    second = runner.invoke(app, ["synthesize", str(folder), "--no-prefect"])
    assert second.exit_code == 0, second.output
    assert "Unchanged inputs" in second.output


def test_an_invalid_synthesis_file_exits_with_2_and_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "synthesis.toml"
    path.write_text('id = "x"\ntitle = "t"\noutcomes = []\nstudies = []\n', encoding="utf-8")
    result = runner.invoke(app, ["synthesize", str(path), "--no-prefect"])
    assert result.exit_code == 2
    assert "outcomes" in result.output and "studies" in result.output
