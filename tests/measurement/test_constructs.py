"""Tests of item recoding and construct scores."""

import numpy as np
import pandas as pd
import pytest

from measurement.constructs import ItemSpec, recode_items, score_constructs

LIKERT = {"minimum": 1.0, "maximum": 5.0}


def test_recode_items_reverses_negative_items_and_blanks_missing_codes():
    frame = pd.DataFrame({"a": [1.0, 4.0, -88.0], "b": [1.0, 2.0, 5.0]})
    items = [
        ItemSpec(name="a", construct="trust", **LIKERT),
        ItemSpec(name="b", construct="trust", direction="negative", **LIKERT),
    ]
    recoded = recode_items(frame, items=items, missing_codes=[-88.0, -99.0])
    assert recoded["a"].tolist()[:2] == [1.0, 4.0]
    assert np.isnan(recoded["a"].iloc[2])
    assert recoded["b"].tolist() == [5.0, 4.0, 1.0]


def test_recode_items_scores_quiz_items_with_dont_know_as_wrong_and_refusal_as_missing():
    frame = pd.DataFrame({"quiz": [2.0, 3.0, -88.0, -99.0, np.nan]})
    items = [ItemSpec(name="quiz", construct="knowledge", scale="categorical", correct_answer=2)]
    recoded = recode_items(frame, items=items, missing_codes=[-99.0], wrong_codes=[-88.0])
    assert recoded["quiz"].tolist()[:3] == [1.0, 0.0, 0.0]
    assert recoded["quiz"].iloc[3:].isna().all()


def test_score_constructs_averages_answered_items_by_hand():
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, np.nan, np.nan], "b": [3.0, np.nan, 4.0, np.nan], "c": [5.0] * 4}
    )
    items = [ItemSpec(name=name, construct="trust", **LIKERT) for name in "abc"]
    scores = score_constructs(frame, items=items, minimum_share=0.5)
    # 3 items, at least ceil(1.5) = 2 answered
    assert scores["trust"].iloc[0] == pytest.approx(3.0)
    assert scores["trust"].iloc[1] == pytest.approx(3.5)
    assert scores["trust"].iloc[2] == pytest.approx(4.5)
    assert np.isnan(scores["trust"].iloc[3])
    every = score_constructs(frame, items=items, minimum_share=1.0)
    assert every["trust"].notna().tolist() == [True, False, False, False]


def test_score_constructs_gives_a_knowledge_share_correct_per_construct():
    frame = pd.DataFrame({"q1": [1.0, 1.0, 2.0], "q2": [3.0, 1.0, 1.0], "q3": [2.0, 2.0, 2.0]})
    items = [
        ItemSpec(name="q1", construct="knowledge", scale="categorical", correct_answer=1),
        ItemSpec(name="q2", construct="knowledge", scale="categorical", correct_answer=3),
        ItemSpec(name="q3", construct="knowledge", scale="categorical", correct_answer=2),
    ]
    scores = score_constructs(frame, items=items)
    assert scores["knowledge"].tolist() == pytest.approx([1.0, 2 / 3, 1 / 3])


def test_score_constructs_recovers_a_latent_mean_with_reverse_items():
    rng = np.random.default_rng(3)
    latent = rng.integers(1, 6, size=2000).astype(float)
    frame = pd.DataFrame({"pos": latent, "neg": 6.0 - latent})
    items = [
        ItemSpec(name="pos", construct="trust", **LIKERT),
        ItemSpec(name="neg", construct="trust", direction="negative", **LIKERT),
    ]
    scores = score_constructs(frame, items=items)
    np.testing.assert_allclose(scores["trust"].to_numpy(), latent)


def test_score_constructs_rejects_a_construct_mixing_quiz_and_scale_items():
    frame = pd.DataFrame({"q": [1.0], "a": [2.0]})
    items = [
        ItemSpec(name="q", construct="mixed", scale="categorical", correct_answer=1),
        ItemSpec(name="a", construct="mixed", **LIKERT),
    ]
    with pytest.raises(ValueError, match="mixes quiz items"):
        score_constructs(frame, items=items)


def test_score_constructs_rejects_categorical_items_without_an_answer_key():
    frame = pd.DataFrame({"q": [1.0]})
    items = [ItemSpec(name="q", construct="choice", scale="categorical")]
    with pytest.raises(ValueError, match="have no answer key"):
        score_constructs(frame, items=items)


@pytest.mark.parametrize("share", [0, 1.5, True])
def test_score_constructs_rejects_a_minimum_share_outside_zero_one(share):
    frame = pd.DataFrame({"a": [1.0]})
    with pytest.raises(ValueError, match="minimum_share must lie in"):
        score_constructs(frame, items=[ItemSpec(name="a", construct="t")], minimum_share=share)


def test_recode_items_rejects_out_of_range_codes_that_are_not_missing_codes():
    frame = pd.DataFrame({"a": [1.0, 7.0, -88.0]})
    items = [ItemSpec(name="a", construct="trust", direction="negative", **LIKERT)]
    with pytest.raises(ValueError, match=r"item 'a' holds \[7.0\] in 1 rows"):
        recode_items(frame, items=items, missing_codes=[-88.0])


def test_recode_items_rejects_an_absent_item_column():
    with pytest.raises(ValueError, match=r"columns \['b'\] are not in responses"):
        recode_items(pd.DataFrame({"a": [1.0]}), items=[ItemSpec(name="b", construct="t")])


def test_recode_items_rejects_a_text_item_column():
    with pytest.raises(TypeError, match="column 'a' must be numeric"):
        recode_items(pd.DataFrame({"a": ["x"]}), items=[ItemSpec(name="a", construct="t")])


def test_recode_items_rejects_items_that_are_not_item_specs():
    with pytest.raises(TypeError, match="items must be ItemSpec values"):
        recode_items(pd.DataFrame({"a": [1.0]}), items=[{"name": "a"}])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="items must be a list of ItemSpec"):
        recode_items(pd.DataFrame({"a": [1.0]}), items=ItemSpec(name="a", construct="t"))  # type: ignore[arg-type]


def test_recode_items_rejects_an_empty_or_duplicated_item_list():
    with pytest.raises(ValueError, match="items is empty"):
        recode_items(pd.DataFrame({"a": [1.0]}), items=[])
    spec = ItemSpec(name="a", construct="t")
    with pytest.raises(ValueError, match=r"items \['a'\] are given twice"):
        recode_items(pd.DataFrame({"a": [1.0]}), items=[spec, spec])


def test_recode_items_rejects_responses_that_are_not_a_frame():
    with pytest.raises(TypeError, match="responses must be a pandas DataFrame"):
        recode_items([1.0], items=[ItemSpec(name="a", construct="t")])  # type: ignore[arg-type]


def test_item_spec_rejects_a_negative_item_without_a_range():
    with pytest.raises(ValueError, match="is reverse-coded but its range"):
        ItemSpec(name="a", construct="t", direction="negative")


def test_item_spec_rejects_an_unknown_direction():
    with pytest.raises(ValueError, match="must be 'positive' or 'negative'"):
        ItemSpec(name="a", construct="t", direction="up")  # type: ignore[arg-type]
