"""The Examples sections of the design-stage modules run as written."""

import doctest
import importlib

import pytest

MODULES = [
    "measurement.power",
    "measurement.equivalence",
    "measurement.icc",
    "measurement.assignment",
    "measurement.diagnosis",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_of_the_design_module_run_as_written(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
