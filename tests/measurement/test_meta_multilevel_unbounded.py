"""A three-level meta-regression whose moderators leave the study level unidentified.

Four studies, five estimates and four coefficients (a region per study but one): REML's
between-study variance rises without bound. Fisher scoring used to step to 1e26 and fail
inside numpy with a bare "Singular matrix"; it must refuse with a DesignError that says why,
which the synthesis records as the moderator's caveat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measurement.errors import DesignError, FewStudiesWarning
from measurement.meta_multilevel import multilevel_meta_analysis

# The estimates a synthesis test met on a 2-core machine (the last one is a simulated study's).
ESTIMATES = [-0.16, -0.09, -0.07, -0.18, -0.3464913888901252]
VARIANCES = [0.0036, 0.007919284776308468, 0.004900000000000001, 0.012656249999999997,
             0.02721085243237499]  # fmt: skip


def test_an_unidentified_study_level_is_refused_with_its_reason() -> None:
    effects = pd.DataFrame(
        {
            "study": ["a", "b", "b", "c", "d"],
            "estimate": ESTIMATES,
            "std_error": np.sqrt(VARIANCES),
            "region": ["east", "north", "north", "south", "west"],
        }
    )
    refusal = r"grow without bound.*4 studies.*Fit fewer moderators"
    with pytest.warns(FewStudiesWarning), pytest.raises(DesignError, match=refusal):
        multilevel_meta_analysis(effects, moderators=["region"])


def test_the_same_studies_without_the_moderator_still_pool() -> None:
    effects = pd.DataFrame(
        {
            "study": ["a", "b", "b", "c", "d"],
            "estimate": ESTIMATES,
            "std_error": np.sqrt(VARIANCES),
        }
    )
    with pytest.warns(FewStudiesWarning):
        fit = multilevel_meta_analysis(effects)
    assert fit.n_studies == 4
    assert np.isfinite(fit.sigma2_study) and fit.sigma2_study < 1.0
