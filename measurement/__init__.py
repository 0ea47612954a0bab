"""Pure statistics for campaign evaluations: DataFrames in, tidy results out."""

from measurement.attrition import (
    ATTRITION_COLUMNS,
    DifferentialAttrition,
    LeeBounds,
    attrition_table,
    differential_attrition,
    follow_up_status,
    lee_bounds,
)
from measurement.effects import EffectEstimate, estimate_ancova, estimate_did
from measurement.errors import DesignError, FewClustersWarning, StatisticalCaveatWarning
from measurement.linear_model import LinearFit, fit_linear_model
from measurement.ordinal import estimate_ordered_logit
from measurement.randomization_inference import (
    RandomizationResult,
    randomization_inference,
    randomization_inference_effect,
)
from measurement.study_effects import EFFECT_COLUMNS, estimate_study_effects
from measurement.wild_bootstrap import (
    WildBootstrapResult,
    wild_bootstrap_effect,
    wild_cluster_bootstrap,
)

__all__ = [
    "ATTRITION_COLUMNS",
    "EFFECT_COLUMNS",
    "DesignError",
    "DifferentialAttrition",
    "EffectEstimate",
    "FewClustersWarning",
    "LeeBounds",
    "LinearFit",
    "RandomizationResult",
    "StatisticalCaveatWarning",
    "WildBootstrapResult",
    "attrition_table",
    "differential_attrition",
    "estimate_ancova",
    "estimate_did",
    "estimate_ordered_logit",
    "estimate_study_effects",
    "fit_linear_model",
    "follow_up_status",
    "lee_bounds",
    "randomization_inference",
    "randomization_inference_effect",
    "wild_bootstrap_effect",
    "wild_cluster_bootstrap",
]
