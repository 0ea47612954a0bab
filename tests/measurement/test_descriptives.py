"""Tests of descriptive statistics and missing answers by reason."""

import numpy as np
import pandas as pd
import pytest

from measurement.descriptives import (
    BLANK_REASON,
    DESCRIPTIVE_COLUMNS,
    MISSING_COLUMNS,
    describe_responses,
    missing_by_reason,
)

CODES = {"dont_know": [-88.0], "refused": [-99.0], "never_heard": [-66.0]}


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "wave": ["baseline"] * 5 + ["endline"] * 5,
            "arm": ["campaign", "campaign", "comparison", "comparison", "comparison"] * 2,
            "trust": [1.0, 3.0, -88.0, 2.0, 4.0, 5.0, -99.0, np.nan, -66.0, 3.0],
        }
    )


def test_describe_responses_matches_hand_counts_and_moments_per_cell():
    table = describe_responses(
        _frame(), variables=["trust"], wave="wave", arm="arm", missing_codes=CODES
    )
    assert list(table.columns) == DESCRIPTIVE_COLUMNS
    cells = table.set_index(["wave", "arm"])
    base_comparison = cells.loc[("baseline", "comparison")]
    assert base_comparison["n_obs"] == 3
    assert base_comparison["n_valid"] == 2
    assert base_comparison["n_missing"] == 1
    assert base_comparison["mean"] == pytest.approx(3.0)
    assert base_comparison["std_dev"] == pytest.approx(np.sqrt(2.0))
    end_campaign = cells.loc[("endline", "campaign")]
    assert end_campaign["n_valid"] == 1 and np.isnan(end_campaign["std_dev"])
    assert cells.loc[("endline", "comparison")]["median"] == pytest.approx(3.0)


def test_describe_responses_agrees_with_pandas_describe_on_simulated_data():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"arm": rng.integers(0, 2, 500), "x": rng.normal(size=500)})
    frame.loc[rng.random(500) < 0.1, "x"] = -88.0
    table = describe_responses(frame, variables=["x"], arm="arm", missing_codes=CODES)
    clean = frame[frame["x"] != -88.0]
    reference = clean.groupby("arm")["x"].describe()
    np.testing.assert_allclose(table["mean"], reference["mean"])
    np.testing.assert_allclose(table["std_dev"], reference["std"])
    np.testing.assert_allclose(table["median"], reference["50%"])
    assert table["wave"].isna().all()


def test_describe_responses_without_groups_gives_one_row_per_variable():
    frame = _frame()
    frame["other"] = 1.0
    table = describe_responses(frame, variables=["trust", "other"], missing_codes=CODES)
    assert table["variable"].tolist() == ["trust", "other"]
    assert table["n_valid"].tolist() == [6, 10]


def test_missing_by_reason_counts_each_reason_and_blanks_per_cell():
    table = missing_by_reason(_frame(), variables=["trust"], wave="wave", missing_codes=CODES)
    assert list(table.columns) == MISSING_COLUMNS
    endline = table[table["wave"] == "endline"].set_index("reason")["n_missing"].to_dict()
    assert endline == {"dont_know": 0, "refused": 1, "never_heard": 1, BLANK_REASON: 1}
    baseline = table[table["wave"] == "baseline"].set_index("reason")["share_missing"]
    assert baseline["dont_know"] == pytest.approx(0.2)


def test_missing_by_reason_rejects_a_code_given_two_reasons():
    with pytest.raises(ValueError, match=r"code -88.0 is listed under both 'dont_know'"):
        missing_by_reason(
            _frame(), variables=["trust"], missing_codes={"dont_know": [-88], "other": [-88]}
        )


def test_missing_by_reason_rejects_the_reserved_blank_reason():
    with pytest.raises(ValueError, match="reserved for values missing without a code"):
        missing_by_reason(_frame(), variables=["trust"], missing_codes={"blank": [-1]})


def test_describe_responses_rejects_missing_codes_that_are_not_a_mapping():
    with pytest.raises(TypeError, match="missing_codes must map a reason"):
        describe_responses(_frame(), variables=["trust"], missing_codes=[-88])  # type: ignore[arg-type]


def test_describe_responses_rejects_text_variables_and_absent_columns():
    with pytest.raises(TypeError, match="column 'arm' must be numeric"):
        describe_responses(_frame(), variables=["arm"])
    with pytest.raises(ValueError, match=r"columns \['cluster'\] are not in responses"):
        describe_responses(_frame(), variables=["trust"], arm="cluster")
    with pytest.raises(TypeError, match="variables must be a list of column names"):
        describe_responses(_frame(), variables="trust")


def _described_cell_by_cell(frame: pd.DataFrame, names: list[str], codes: list[float]):
    """The former computation: the whole frame grouped by wave and arm, for each variable."""
    rows = []
    for name in names:
        for (wave, arm), part in frame.groupby(["wave", "arm"], sort=True, dropna=False):
            values = part[name].to_numpy(dtype=float, na_value=np.nan)
            valid = values[~np.isnan(values) & ~np.isin(values, codes)]
            rows.append(
                (name, wave, arm, values.size, valid.size, valid.mean(), valid.std(ddof=1),
                 np.median(valid), int(np.isin(values, codes).sum()), int(np.isnan(values).sum()))
            )  # fmt: skip
    return rows


def test_several_variables_are_described_exactly_as_cell_by_cell_on_the_whole_frame() -> None:
    rng = np.random.default_rng(8)
    n = 500
    frame = pd.DataFrame(
        {
            "wave": rng.choice(["baseline", "endline", None], n, p=[0.5, 0.45, 0.05]),
            "arm": rng.choice(["campaign", "comparison"], n),
            **{
                f"item_{j}": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0, -88.0, np.nan], n)
                for j in range(4)
            },
            "score": rng.normal(size=n),
        }
    )
    names = ["item_0", "item_1", "item_2", "item_3", "score"]
    table = describe_responses(
        frame, variables=names, wave="wave", arm="arm", missing_codes={"dont_know": [-88.0]}
    )
    missing = missing_by_reason(
        frame, variables=names, wave="wave", arm="arm", missing_codes={"dont_know": [-88.0]}
    )
    expected = _described_cell_by_cell(frame, names, [-88.0])
    found = [
        (row.variable, row.wave, row.arm, row.n_obs, row.n_valid, row.mean, row.std_dev,
         row.median)
        for row in table.itertuples(index=False)
    ]  # fmt: skip
    assert len(found) == len(expected) == 5 * 6
    for got, want in zip(found, expected, strict=True):
        assert got[:5] == want[:5] or (
            pd.isna(got[1]) and pd.isna(want[1]) and got[2:5] == want[2:5]
        )
        assert got[5:] == want[5:8]  # bit-identical statistics
    dont_know = missing.loc[missing["reason"] == "dont_know", "n_missing"].tolist()
    blank = missing.loc[missing["reason"] == "blank", "n_missing"].tolist()
    assert dont_know == [row[8] for row in expected]
    assert blank == [row[9] for row in expected]
