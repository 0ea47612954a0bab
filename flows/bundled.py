"""Where the files trustshift ships (instruments, templates, example studies) are found.

In a source checkout they are the repository's ``data/`` folder; an installed wheel carries
the same files as ``flows/_data/`` (``setup.py`` copies them there when the wheel is built).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "_data"
_CHECKOUT = _PACKAGE.parent / "data"

# A wheel's copy wins: an installed trustshift never reads a folder that merely sits beside it.
BUNDLED_DATA = _INSTALLED if _INSTALLED.is_dir() else _CHECKOUT
INSTRUMENTS_DIR = BUNDLED_DATA / "instruments"
TEMPLATES_DIR = BUNDLED_DATA / "templates"
EXAMPLE_STUDY_DIR = BUNDLED_DATA / "studies" / "example"
