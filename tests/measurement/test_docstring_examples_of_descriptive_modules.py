"""The Examples sections of the construct, balance, change and multiple-testing modules run."""

import doctest
import importlib

import pytest

MODULES = [
    "measurement.constructs",
    "measurement.indices",
    "measurement.reliability",
    "measurement.descriptives",
    "measurement.balance",
    "measurement.change",
    "measurement.multiple_testing",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_of_the_module_run_as_written(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
