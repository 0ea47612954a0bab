"""The campaign's effect on trust in each source: change in the campaign arm minus change in
the comparison arm (difference-in-differences) at the primary wave, with the primary inference.
"""

from __future__ import annotations

import pandas as pd

from flows.estimation.analysis_data import COMPARISON, AnalysisData
from flows.estimation.caveats import record_caveats
from flows.estimation.descriptive_tables import _source_label
from flows.estimation.design_inference import (
    cluster_bootstrap,
    effects_cluster,
    with_one_blas_thread,
)
from flows.estimation.inference_tables import smallest_cells
from flows.estimation.results import RESULT_TABLES
from flows.study import Study
from measurement.study_effects import estimate_study_effects

SOURCE_COLUMNS = ("source", "label", "source_group", "source_order")
"""The columns naming the source; the effect columns follow (as in ``estimates``)."""


@with_one_blas_thread
def trust_source_effects(
    study: Study,
    data: AnalysisData,
    *,
    bootstrap_draws: int,
    seed: int,
    messages: list[tuple[str, str]],
) -> pd.DataFrame:
    """One row per trust item (a 1-5 rating of a source): its difference-in-differences at
    the primary wave (the study's ``primary_wave``, else the latest), the primary interval.

    The wild bootstrap runs only when the design's primary inference needs it (few clusters
    with ``few_clusters_method = "wild_bootstrap"``); randomization inference is not drawn:
    the rows feed the trust figure, not the conclusions.
    """
    columns = [name for name, _ in RESULT_TABLES["trust_source_effects"]]
    frame = data.responses
    if study.design.assignment == "pre_post" or not (frame["arm"] == COMPARISON).any():
        return pd.DataFrame(columns=columns)
    instrument = study.resolved_instrument()
    domains = {construct.name: construct.domain for construct in instrument.constructs}
    sources = [
        item
        for item in instrument.items
        if domains.get(item.construct_name) == "trust"
        and item.scale == "likert"
        and item.name in frame.columns
        and frame.loc[frame["wave"] == data.baseline_wave, item.name].notna().any()
    ]
    later = list(data.later_waves)
    if not sources or not later:
        return pd.DataFrame(columns=columns)
    wave = study.outcomes.primary_wave if study.outcomes.primary_wave in later else later[-1]
    roles = ["respondent", "cluster", "unit", "stratum", "weight", "treated", "wave", "arm"]
    slim = frame[[*(r for r in roles if r in frame.columns), *(i.name for i in sources)]]
    stratum = "stratum" if slim["stratum"].notna().any() else None
    weight = "weight" if "weight" in slim and slim["weight"].notna().any() else None
    n_clusters = int(slim["cluster"].nunique()) if study.clustered else 0
    bootstrap = (
        bootstrap_draws
        if cluster_bootstrap(study, n_clusters)
        and study.inference.few_clusters_method == "wild_bootstrap"
        else 0
    )
    with record_caveats(f"trust effects {wave}", messages):
        table = estimate_study_effects(
            slim,
            outcomes=[
                {"outcome": item.name, "construct": item.construct_name, "family": "trust"}
                for item in sources
            ],
            treated="treated",
            cluster=effects_cluster(study, "did"),
            wave="wave",
            waves=(data.baseline_wave, wave),
            estimator="did",
            respondent="respondent" if study.design.sampling == "panel" else None,
            stratum=stratum,
            weight=weight,
            bootstrap_draws=bootstrap,
            randomization_draws=0,
            seed=seed + 7_000,
            few_clusters_below=study.inference.few_clusters_below,
            few_clusters_method=study.inference.few_clusters_method,
            many_clusters_method=study.inference.many_clusters_method,
        )
    if table.empty:
        return pd.DataFrame(columns=columns)
    described = pd.DataFrame(
        [
            (item.name, _source_label(item), item.construct_name, order)
            for order, item in enumerate(sources)
        ],
        columns=list(SOURCE_COLUMNS),
    )
    table = table.merge(described, left_on="outcome", right_on="source")
    table["wave"] = wave
    smallest = smallest_cells(slim, list(table["source"]), (data.baseline_wave, wave))
    table["n_smallest_cell"] = [smallest[source] for source in table["source"]]
    return table.reindex(columns=columns)
