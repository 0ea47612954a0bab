"""masked_count takes every missing count pandas hands it."""

from __future__ import annotations

import pandas as pd

from flows.orchestration.artifacts import masked_count


def test_masked_count_shows_a_missing_count_of_any_kind_as_blank() -> None:
    assert masked_count(pd.NA, 10) == ""
    assert masked_count(float("nan"), 10) == ""
    assert masked_count(None, 10) == ""
    assert masked_count(3, 10) == "<10"
    assert masked_count(12, 10) == "12"
