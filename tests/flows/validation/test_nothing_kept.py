"""A validated wave's frames do not outlive the validation (the next stage of a run needs
the memory)."""

from __future__ import annotations

import gc

from great_expectations.execution_engine.pandas_batch_data import PandasBatchData

from flows.study import Study
from flows.validation import validate_wave
from tests.flows.validation.coded_waves import clean_coded_wave


def test_no_batch_given_to_great_expectations_stays_alive(example_study: Study) -> None:
    coded = clean_coded_wave(example_study, wave="baseline", n_rows=300, seed=5)
    validation = validate_wave(coded, study=example_study, wave="baseline", chunk_rows=120)
    assert validation.success and validation.n_rows == 300
    gc.collect()
    assert [found for found in gc.get_objects() if isinstance(found, PandasBatchData)] == []
