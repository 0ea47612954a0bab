"""The analysis frame's guards: codes and values read for the same rows, wave positions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.estimation.analysis_data import _check_aligned, _wave_order
from flows.estimation.errors import EstimationError


def test_codes_read_for_other_rows_than_the_values_stop_the_estimation() -> None:
    with pytest.raises(EstimationError, match=r"different rows \(2 and 3\).*changed"):
        _check_aligned(np.array([1, 2, 3]), np.array([1, 3]))


def test_codes_read_for_the_same_rows_pass() -> None:
    _check_aligned(np.array([4, 7, 9]), np.array([4, 7, 9]))


def test_wave_positions_follow_the_study_order_and_a_wave_it_lacks_is_nan() -> None:
    waves = pd.Series(["endline", "baseline", "endline", "follow_up"], dtype="str", name="wave")
    order = _wave_order(waves, ["baseline", "endline", "follow_up"])
    assert order.dtype == np.int64
    assert order.tolist() == [1, 0, 1, 2]
    unknown = _wave_order(waves, ["baseline", "endline"])
    assert unknown.iloc[:3].tolist() == [1, 0, 1]
    assert np.isnan(unknown.iloc[3])
