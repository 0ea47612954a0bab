"""Summary indices of an outcome family: equally weighted (KLK) and inverse-covariance (Anderson).

Combining the outcomes of a family into one standardized index is the other answer to multiple
testing (beside adjusting p-values): one pre-specified test per family.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from measurement.arguments import check_columns, check_names, check_responses
from measurement.errors import DesignError

__all__ = [
    "INDEX_COMPONENT_COLUMNS",
    "IndexMethod",
    "ReferenceGroup",
    "SummaryIndex",
    "summary_index",
]

IndexMethod = Literal["kling_liebman_katz", "anderson"]
ReferenceGroup = Literal["comparison_baseline", "full_baseline"]

INDEX_COMPONENT_COLUMNS: list[str] = [
    "index",
    "method",
    "reference",
    "component",
    "weight",
    "reversed",
    "reference_mean",
    "reference_std_dev",
    "n_reference",
]
"""Columns of :meth:`SummaryIndex.tidy`: one row per component of the index.

``weight`` is the component's share of the index when every component is answered (weights
sum to 1; equal for Kling-Liebman-Katz, inverse-covariance row sums for Anderson, which can be
negative); ``reversed`` says whether the component's sign was flipped; ``reference_mean`` and
``reference_std_dev`` are the mean and standard deviation (ddof = 1) used to standardize it,
computed on ``n_reference`` non-missing rows of the reference group.
"""

_METHOD_WORDS = {
    "kling_liebman_katz": "Kling-Liebman-Katz equally weighted mean of z-scores",
    "anderson": "Anderson (2008) inverse-covariance weighted mean of z-scores",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryIndex:
    """A summary index: one score per row of ``responses`` and how it was built.

    Attributes
    ----------
    name : str
        Name of the index (the name of ``scores``).
    method : str
        ``"kling_liebman_katz"`` or ``"anderson"``.
    reference : str
        The standardization in words (which group, which wave, how many rows).
    restandardized : bool
        Whether the index itself was rescaled to mean 0, sd 1 in the reference group.
    scores : pandas.Series
        The index, aligned with the index of ``responses`` (NaN where no component answered).
    components : pandas.DataFrame
        One row per component with :data:`INDEX_COMPONENT_COLUMNS`.
    """

    name: str
    method: str
    reference: str
    restandardized: bool
    scores: pd.Series
    components: pd.DataFrame

    def tidy(self) -> pd.DataFrame:
        """The components table (:data:`INDEX_COMPONENT_COLUMNS`)."""
        return self.components.copy()


def _reference_rows(
    responses: pd.DataFrame,
    *,
    wave: str,
    baseline_wave: str,
    treated: str | None,
    reference: str,
    caller: str,
) -> tuple[np.ndarray, str]:
    waves = responses[wave]
    at_baseline = (waves == baseline_wave).fillna(False).to_numpy(dtype=bool)
    if not at_baseline.any():
        found = sorted(map(str, waves.dropna().unique()))[:10]
        raise DesignError(
            f"{caller}: no row of {wave!r} equals the baseline wave {baseline_wave!r}; found "
            f"{found!r}. Pass the name of the baseline wave."
        )
    if reference == "full_baseline":
        return at_baseline, f"the full sample at wave {baseline_wave!r}"
    if treated is None:
        raise ValueError(
            f"{caller}: reference 'comparison_baseline' needs the treated column; got "
            "treated=None. Pass treated=... or reference='full_baseline'."
        )
    status = pd.to_numeric(responses[treated], errors="coerce")
    comparison = at_baseline & (status == 0).fillna(False).to_numpy(dtype=bool)
    if not comparison.any():
        raise DesignError(
            f"{caller}: the comparison arm ({treated!r} == 0) has no row at wave "
            f"{baseline_wave!r}. Standardize against reference='full_baseline' instead."
        )
    return comparison, f"the comparison arm ({treated} == 0) at wave {baseline_wave!r}"


def summary_index(
    responses: pd.DataFrame,
    *,
    outcomes: Sequence[str],
    wave: str,
    baseline_wave: str,
    treated: str | None = None,
    method: IndexMethod = "kling_liebman_katz",
    reference: ReferenceGroup = "comparison_baseline",
    reverse: Collection[str] = (),
    restandardize: bool = True,
    name: str = "index",
) -> SummaryIndex:
    """Combine a family of outcomes into one standardized summary index.

    Each component :math:`k` is standardized against a reference group,
    :math:`z_{ik} = (y_{ik} - \\bar y_k^{ref}) / s_k^{ref}` (sign flipped for components in
    ``reverse``), and the index is the weighted mean of the answered components,
    :math:`I_i = \\sum_{k \\in A_i} w_k z_{ik} / \\sum_{k \\in A_i} w_k`. Kling, Liebman and
    Katz (2007) weight equally (:math:`w_k = 1`); Anderson (2008) weights by the row sums of
    the inverse covariance matrix of the standardized components,
    :math:`w = \\Sigma^{-1} \\mathbf{1}`, so that highly correlated components count less
    and the index gains efficiency. The reference group is either the comparison arm at
    baseline or the full baseline sample.

    Parameters
    ----------
    responses : pandas.DataFrame
        Respondent-by-wave frame with the component columns (already recoded so that higher
        means more of the family's construct, or listed in ``reverse``).
    outcomes : sequence of str
        The components (at least two).
    wave : str
        Column naming the wave of each row.
    baseline_wave : str
        Value of ``wave`` marking the baseline.
    treated : str or None, default None
        0/1 assignment column; needed for ``reference="comparison_baseline"``.
    method : {"kling_liebman_katz", "anderson"}, default "kling_liebman_katz"
        Equal weights or inverse-covariance weights.
    reference : {"comparison_baseline", "full_baseline"}, default "comparison_baseline"
        The rows whose means and standard deviations standardize every wave.
    reverse : collection of str, default ()
        Components where a higher value means less of the construct; their z-scores are
        negated.
    restandardize : bool, default True
        Rescale the index to mean 0 and sd 1 in the reference group, so that effects read
        in reference-group standard deviations.
    name : str, default "index"
        Name of the resulting series.

    Returns
    -------
    SummaryIndex
        ``scores`` aligned with ``responses`` and ``tidy()`` with
        :data:`INDEX_COMPONENT_COLUMNS`; ``reference`` states the standardization.

    Raises
    ------
    TypeError
        ``responses`` is not a DataFrame, a component is not numeric.
    ValueError
        Unknown ``method`` or ``reference``; fewer than two components; an absent column;
        ``reverse`` names a column that is not a component; comparison reference without
        ``treated``.
    DesignError
        No baseline row or no comparison row at baseline; a component without variation (or
        with fewer than two answers) in the reference group; for Anderson, a singular
        covariance matrix or components never answered together.

    Notes
    -----
    The reference statistics (and Anderson's covariance matrix, estimated pairwise on the
    reference rows) are fixed at baseline, so the index of every wave is on the same scale
    and the weights do not depend on the campaign's effect. Missing components are skipped
    and the weights of the answered ones rescaled (Anderson 2008, section 3.1); Kling, Liebman
    and Katz instead impute missing components at the arm mean, which gives the same index
    when nothing is missing. Anderson's weights can be negative when a component is strongly
    negatively correlated with the rest: check the components table.

    References
    ----------
    Kling, J. R., Liebman, J. B., & Katz, L. F. (2007). Experimental analysis of neighborhood
    effects. Econometrica, 75(1), 83-119.
    Anderson, M. L. (2008). Multiple inference and gender differences in the effects of early
    intervention: A reevaluation of the Abecedarian, Perry Preschool, and Early Training
    projects. Journal of the American Statistical Association, 103(484), 1481-1495.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"wave": ["baseline"] * 200, "treated": np.repeat([0, 1], 100)})
    >>> frame["score_a"] = rng.normal(50, 10, 200)
    >>> frame["score_b"] = frame["score_a"] + rng.normal(0, 10, 200)
    >>> result = summary_index(frame, outcomes=["score_a", "score_b"], wave="wave",
    ...                        baseline_wave="baseline", treated="treated", method="anderson")
    >>> round(float(result.scores[frame["treated"] == 0].std()), 6)
    1.0
    >>> result.tidy()["weight"].round(2).tolist()
    [0.5, 0.5]
    """
    caller = "summary_index"
    check_responses(responses, caller=caller)
    if method not in _METHOD_WORDS:
        raise ValueError(
            f"{caller}: method must be 'kling_liebman_katz' or 'anderson'; got {method!r}. "
            "Pass one of these."
        )
    if reference not in ("comparison_baseline", "full_baseline"):
        raise ValueError(
            f"{caller}: reference must be 'comparison_baseline' or 'full_baseline'; got "
            f"{reference!r}. Pass one of these."
        )
    components = check_names(outcomes, what="outcomes", caller=caller, minimum=2)
    check_columns(responses, [*components, wave, treated], caller=caller, numeric=components)
    flipped = set(reverse)
    unknown = sorted(flipped - set(components))
    if unknown:
        raise ValueError(
            f"{caller}: reverse names {unknown!r}, which are not among the outcomes "
            f"{components!r}. Name components only."
        )
    rows, described = _reference_rows(
        responses,
        wave=wave,
        baseline_wave=baseline_wave,
        treated=treated,
        reference=reference,
        caller=caller,
    )
    values = responses[components].to_numpy(dtype=float, na_value=np.nan)
    signs = np.array([-1.0 if column in flipped else 1.0 for column in components])
    reference_values = values[rows]
    reference_frame = pd.DataFrame(reference_values)
    counts = reference_frame.count().to_numpy()
    means = reference_frame.mean().to_numpy(dtype=float)
    spreads = reference_frame.std(ddof=1).to_numpy(dtype=float)
    for position, column in enumerate(components):
        if counts[position] < 2 or not spreads[position] > 0:
            raise DesignError(
                f"{caller}: component {column!r} has {int(counts[position])} answers and "
                f"standard deviation {spreads[position]!r} in {described}; a z-score needs "
                "variation there. Drop the component or standardize against another group."
            )
    z_scores = (values - means) / spreads * signs
    if method == "anderson":
        covariance = pd.DataFrame(z_scores[rows], columns=components).cov(min_periods=2)
        if covariance.isna().to_numpy().any():
            raise DesignError(
                f"{caller}: some components are never answered together in {described}, so "
                "their covariance is unknown. Use method='kling_liebman_katz'."
            )
        matrix = covariance.to_numpy()
        if np.linalg.cond(matrix) > 1e12:
            raise DesignError(
                f"{caller}: the covariance matrix of {components!r} in {described} is singular "
                f"(condition number {np.linalg.cond(matrix):.3g}); a component is a linear "
                "combination of others. Drop it or use method='kling_liebman_katz'."
            )
        weights = np.linalg.solve(matrix, np.ones(len(components)))
    else:
        weights = np.ones(len(components))
    answered = ~np.isnan(z_scores)
    weight_sums = answered @ weights
    totals = np.nansum(z_scores * weights, axis=1)
    usable = answered.any(axis=1) & (np.abs(weight_sums) > 1e-12 * np.abs(weights).sum())
    index = np.full(len(responses), np.nan)
    index[usable] = totals[usable] / weight_sums[usable]
    if restandardize:
        reference_index = index[rows]
        spread = float(pd.Series(reference_index).std(ddof=1))
        if not spread > 0:
            raise DesignError(
                f"{caller}: the index does not vary in {described}; it cannot be "
                "restandardized. Pass restandardize=False or check the components."
            )
        index = (index - float(pd.Series(reference_index).mean())) / spread
    words = f"{_METHOD_WORDS[method]}, standardized against {described} (n = {int(rows.sum())})" + (
        "; index rescaled to mean 0, sd 1 there" if restandardize else ""
    )
    table = pd.DataFrame(
        {
            "index": name,
            "method": method,
            "reference": words,
            "component": components,
            "weight": weights / weights.sum(),
            "reversed": [column in flipped for column in components],
            "reference_mean": means,
            "reference_std_dev": spreads,
            "n_reference": counts.astype(int),
        },
        columns=INDEX_COMPONENT_COLUMNS,
    )
    return SummaryIndex(
        name=name,
        method=method,
        reference=words,
        restandardized=restandardize,
        scores=pd.Series(index, index=responses.index, name=name),
        components=table,
    )
