"""Items to construct scores: recoding by direction, mean scores and knowledge shares.

Kept pure: the caller passes the item metadata as :class:`ItemSpec` values (``flows`` builds
them from the instrument), so that :mod:`measurement` never imports the study models.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from measurement.arguments import check_columns, check_responses

__all__ = ["ItemSpec", "recode_items", "score_constructs"]

Direction = Literal["positive", "negative"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemSpec:
    """What :mod:`measurement` needs to know about one stored item column.

    Attributes
    ----------
    name : str
        Column name in ``responses`` (for a select-multiple item, one ``<item>__<choice>``).
    construct : str
        The construct the item measures.
    scale : str, default "likert"
        The instrument's scale kind (likert, percentage, binary, categorical, count, money,
        select_multiple).
    direction : {"positive", "negative"}, default "positive"
        "negative" items are reverse-coded so that higher always means more of the construct.
    minimum, maximum : float or None
        The valid range; needed to reverse-code and to reject out-of-range codes.
    correct_answer : float or None
        Answer key of a quiz item; such an item is scored 1 (correct) or 0 (wrong).
    """

    name: str
    construct: str
    scale: str = "likert"
    direction: Direction = "positive"
    minimum: float | None = None
    maximum: float | None = None
    correct_answer: float | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("positive", "negative"):
            raise ValueError(
                f"ItemSpec: direction of item {self.name!r} must be 'positive' or 'negative'; "
                f"got {self.direction!r}. Pass one of these."
            )
        if self.direction == "negative" and (
            self.minimum is None or self.maximum is None or self.minimum >= self.maximum
        ):
            raise ValueError(
                f"ItemSpec: item {self.name!r} is reverse-coded but its range is "
                f"{self.minimum!r}..{self.maximum!r}. Pass minimum < maximum to reverse it."
            )

    @property
    def is_quiz(self) -> bool:
        """Whether the item has an answer key (scored correct/wrong)."""
        return self.correct_answer is not None


def _check_items(items: object, responses: pd.DataFrame, caller: str) -> list[ItemSpec]:
    if isinstance(items, ItemSpec) or not isinstance(items, Sequence):
        raise TypeError(
            f"{caller}: items must be a list of ItemSpec; got {type(items).__name__}. "
            "Pass [ItemSpec(name=..., construct=...), ...]."
        )
    listed = list(items)
    if not listed:
        raise ValueError(f"{caller}: items is empty; got []. Pass at least one ItemSpec.")
    wrong = [item for item in listed if not isinstance(item, ItemSpec)]
    if wrong:
        raise TypeError(
            f"{caller}: items must be ItemSpec values; got {type(wrong[0]).__name__}. "
            "Build them with ItemSpec(name=..., construct=...)."
        )
    names = [item.name for item in listed]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"{caller}: items {duplicated!r} are given twice. Pass each item once.")
    check_columns(responses, names, caller=caller, numeric=names)
    return listed


def recode_items(
    responses: pd.DataFrame,
    *,
    items: Sequence[ItemSpec],
    missing_codes: Collection[float] = (),
    wrong_codes: Collection[float] = (),
) -> pd.DataFrame:
    """Recode item columns so that a higher value always means more of the construct.

    Each item becomes a float column: a special (missing) code becomes NaN; a "negative" item
    is reverse-coded as ``minimum + maximum - value``; a quiz item (one with a
    ``correct_answer``) becomes 1 when the answer equals the key and 0 otherwise, with codes in
    ``wrong_codes`` (typically "don't know") counted as answered and wrong.

    Parameters
    ----------
    responses : pandas.DataFrame
        The coded wave(s): one float column per item holding the code as answered.
    items : sequence of ItemSpec
        The items to recode.
    missing_codes : collection of float, default ()
        Special codes meaning "no usable answer" (refused, not applicable, ...), set to NaN.
    wrong_codes : collection of float, default ()
        For quiz items only: codes scored as a wrong answer rather than as missing.

    Returns
    -------
    pandas.DataFrame
        Same index as ``responses``, one float column per item (item order).

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame, ``items`` are not ItemSpec, an item is not numeric.
    ValueError
        An item column is absent or named twice, or a value outside ``minimum..maximum``
        that is not a missing code remains (recoding it would be meaningless).

    Notes
    -----
    Reverse coding maps the scale onto itself (1..5 becomes 5..1), so recoded and original
    items share a range and can be averaged into one score.

    References
    ----------
    DeVellis, R. F., & Thorpe, C. T. (2021). Scale Development: Theory and Applications
    (5th ed.). SAGE.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"trust_un": [1.0, 5.0, -88.0], "distrust_un": [5.0, 1.0, 2.0]})
    >>> items = [ItemSpec(name="trust_un", construct="trust", minimum=1, maximum=5),
    ...          ItemSpec(name="distrust_un", construct="trust", direction="negative",
    ...                   minimum=1, maximum=5)]
    >>> recode_items(frame, items=items, missing_codes=[-88.0])
       trust_un  distrust_un
    0       1.0          1.0
    1       5.0          5.0
    2       NaN          4.0
    """
    caller = "recode_items"
    check_responses(responses, caller=caller)
    listed = _check_items(items, responses, caller)
    missing = np.asarray(sorted(float(code) for code in missing_codes), dtype=float)
    wrong = np.asarray(sorted(float(code) for code in wrong_codes), dtype=float)
    recoded: dict[str, np.ndarray] = {}
    for item in listed:
        values = responses[item.name].to_numpy(dtype=float, na_value=np.nan)
        if item.is_quiz:
            answered_wrong = np.isin(values, wrong)
            values = np.where(np.isin(values, missing), np.nan, values)
            score = np.where(values == item.correct_answer, 1.0, 0.0)
            score[np.isnan(values)] = np.nan
            score[answered_wrong] = 0.0
            recoded[item.name] = score
            continue
        values = np.where(np.isin(values, missing), np.nan, values)
        low = -np.inf if item.minimum is None else item.minimum
        high = np.inf if item.maximum is None else item.maximum
        outside = ~np.isnan(values) & ((values < low) | (values > high))
        if outside.any():
            found = sorted(set(values[outside].tolist()))[:5]
            raise ValueError(
                f"{caller}: item {item.name!r} holds {found!r} in {int(outside.sum())} rows; "
                f"its range is {item.minimum!r}..{item.maximum!r} and the missing codes are "
                f"{missing.tolist()!r}. Pass the special codes as missing_codes or set "
                "out-of-range answers to missing before scoring."
            )
        # ItemSpec guarantees both bounds on a negative item; the test keeps mypy informed.
        if item.direction == "negative" and item.minimum is not None and item.maximum is not None:
            values = item.minimum + item.maximum - values
        recoded[item.name] = values
    return pd.DataFrame(recoded, index=responses.index)


def score_constructs(
    responses: pd.DataFrame,
    *,
    items: Sequence[ItemSpec],
    missing_codes: Collection[float] = (),
    wrong_codes: Collection[float] = (),
    minimum_share: float = 0.5,
) -> pd.DataFrame:
    """Score each construct as the mean of its recoded items (share correct for a quiz).

    For respondent :math:`i` and construct :math:`c` with items :math:`K_c`, the score is
    :math:`\\bar y_{ic} = |A_{ic}|^{-1} \\sum_{k \\in A_{ic}} \\tilde y_{ik}`, where
    :math:`\\tilde y` are the items recoded by :func:`recode_items` and :math:`A_{ic}` the
    answered items; it is missing unless :math:`|A_{ic}| \\geq \\lceil s |K_c| \\rceil` for the
    minimum share :math:`s`. A construct whose items all have an answer key is a knowledge
    score: the share of answered quiz items that are correct.

    Parameters
    ----------
    responses : pandas.DataFrame
        The coded wave(s) with one column per item.
    items : sequence of ItemSpec
        Items of every construct to score; constructs appear in first-seen order.
    missing_codes : collection of float, default ()
        Special codes set to missing before scoring.
    wrong_codes : collection of float, default ()
        Quiz items only: codes scored as wrong (for example "don't know").
    minimum_share : float, default 0.5
        Share of a construct's items that must be answered for a score (0 < s <= 1);
        at least one item is always required.

    Returns
    -------
    pandas.DataFrame
        Same index as ``responses``, one float column per construct.

    Raises
    ------
    TypeError
        As :func:`recode_items`.
    ValueError
        As :func:`recode_items`; ``minimum_share`` outside (0, 1]; a construct mixes quiz and
        non-quiz items; a categorical item without an answer key (it has no order to average).

    Notes
    -----
    Averaging available items (rather than dropping respondents with any missing item) keeps
    respondents who skipped one item of a long battery; the minimum share guards against
    scores resting on one item. Items are not standardized first: items of one construct share
    a scale in the instrument. Use :func:`measurement.indices.summary_index` to combine items
    or constructs on different scales.

    References
    ----------
    DeVellis, R. F., & Thorpe, C. T. (2021). Scale Development: Theory and Applications
    (5th ed.). SAGE.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"quiz_1": [1.0, 2.0, -88.0], "quiz_2": [3.0, 3.0, 3.0]})
    >>> items = [ItemSpec(name="quiz_1", construct="knowledge", scale="categorical",
    ...                   correct_answer=1),
    ...          ItemSpec(name="quiz_2", construct="knowledge", scale="categorical",
    ...                   correct_answer=3)]
    >>> score_constructs(frame, items=items, wrong_codes=[-88.0])
       knowledge
    0        1.0
    1        0.5
    2        0.5
    """
    caller = "score_constructs"
    check_responses(responses, caller=caller)
    listed = _check_items(items, responses, caller)
    if (
        isinstance(minimum_share, bool)
        or not isinstance(minimum_share, int | float)
        or not 0 < minimum_share <= 1
    ):
        raise ValueError(
            f"{caller}: minimum_share must lie in (0, 1]; got {minimum_share!r}. "
            "Pass for example 0.5 (half of the items answered)."
        )
    constructs: dict[str, list[ItemSpec]] = {}
    for item in listed:
        constructs.setdefault(item.construct, []).append(item)
    for construct, members in constructs.items():
        quiz = {item.is_quiz for item in members}
        if len(quiz) > 1:
            raise ValueError(
                f"{caller}: construct {construct!r} mixes quiz items (with an answer key) and "
                f"other items: {[item.name for item in members]!r}. Score knowledge apart."
            )
        unkeyed = [
            item.name for item in members if item.scale == "categorical" and not item.is_quiz
        ]
        if unkeyed:
            raise ValueError(
                f"{caller}: categorical items {unkeyed!r} of construct {construct!r} have no "
                "answer key, so their codes cannot be averaged. Give them a correct_answer or "
                "leave them out of the scored items."
            )
    recoded = recode_items(
        responses, items=listed, missing_codes=missing_codes, wrong_codes=wrong_codes
    )
    scores: dict[str, np.ndarray] = {}
    for construct, members in constructs.items():
        block = recoded[[item.name for item in members]].to_numpy(dtype=float)
        answered = np.sum(~np.isnan(block), axis=1)
        needed = max(1, math.ceil(minimum_share * len(members) - 1e-9))
        with np.errstate(invalid="ignore"):
            totals = np.nansum(block, axis=1)
            mean = np.where(answered >= needed, totals / np.maximum(answered, 1), np.nan)
        scores[construct] = mean
    return pd.DataFrame(scores, index=responses.index)
