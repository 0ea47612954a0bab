"""The caveats the design demands, read with the run's settings and warnings."""

from __future__ import annotations

import pandas as pd

from flows.study import Study


def report_caveats(
    study: Study,
    settings: dict[str, str],
    warnings: pd.DataFrame,
    estimates: pd.DataFrame,
    domains: frozenset[str] = frozenset(),
) -> list[str]:
    """The caveats of the report, each once: the design's, few clusters, intentions (when an
    outcome's construct is of the ``intention`` domain), validation."""
    caveats = []
    assignment = settings.get("assignment", study.design.assignment)
    if assignment == "pre_post":
        caveats.append(
            "This is a pre/post study without a comparison group: the changes it reports are "
            "changes over time, not effects of the campaign. Anything else that happened "
            "between the waves could explain them."
        )
    elif assignment == "quasi_experimental":
        caveats.append(
            "Exposure to the campaign was not randomised: the comparisons adjust for observed "
            "differences only, and people who chose to see the campaign may differ in ways the "
            "survey does not measure. Read the effects as associations."
        )
    elif assignment == "individually_randomised":
        caveats.append(
            "The campaign was randomised between respondents: effects are intention-to-treat "
            "effects of being assigned to the campaign, whether or not a person saw it; errors "
            "are heteroskedasticity-robust."
        )
    else:
        caveats.append(
            "The campaign was randomised across communities: effects are intention-to-treat "
            "effects of living in a campaign community, whether or not a person saw it."
        )
    clustered = assignment != "individually_randomised"
    if clustered and not estimates.empty and (estimates["n_clusters"].dropna() < 30).any():
        caveats.append(
            "Fewer than 30 communities: plain cluster-robust (CR1) p-values would be too small, "
            "so the conclusions read the design's primary inference; the randomization-"
            "inference p-values are in the folded tables beside it."
        )
    if "intention" in domains:
        caveats.append(
            "Intentions are not behaviour: a change in the intention to migrate does not show "
            "a change in migration. A message aimed at one destination may divert people to "
            "another."
        )
        caveats.append(
            "Survey answers on sensitive intentions can be shaded towards what respondents "
            "think the interviewer wants to hear, more so where the campaign was received."
        )
    if settings.get("validation_caveat"):
        caveats.append(settings["validation_caveat"])
    for message in warnings.get("message", pd.Series(dtype=str)):
        if str(message).startswith("no wave of this study has been validated"):
            caveats.append(str(message))
    return list(dict.fromkeys(caveats))
