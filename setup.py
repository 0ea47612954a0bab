"""Build hook: the wheel carries the repository's data/ folder as the package data flows/_data.

Everything else about the build is declared in pyproject.toml. The bundled instruments,
templates and example studies live in data/ (visible, beside the code that reads them) and
flows/bundled.py finds them in either place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# What a run writes beside a study file (as in .gitignore): never shipped.
RUN_OUTPUTS = {".prefect", "warehouse", "raw", "data_docs", "reports", "results", "recheck"}


def _shipped(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return not any(part.startswith(".") or part in RUN_OUTPUTS for part in parts) and not (
        path.suffix in {".pyc", ".pyo"} or "__pycache__" in parts
    )


class BuildWithData(build_py):
    """Copy data/ into the build as flows/_data (not in editable installs: they read data/)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = Path(__file__).resolve().parent / "data"
        target = Path(self.build_lib) / "flows" / "_data"
        if target.exists():
            shutil.rmtree(target)
        for path in sorted(source.rglob("*")):
            if path.is_file() and _shipped(path, source):
                destination = target / path.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)


setup(cmdclass={"build_py": BuildWithData})
