"""The Examples of the ordinal, binary, bootstrap, randomization and attrition modules run."""

import doctest
import importlib

import pytest

MODULES = [
    "measurement.ordinal",
    "measurement.binary",
    "measurement.wild_bootstrap",
    "measurement.randomization_inference",
    "measurement.attrition",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_of_the_module_run_as_written(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
