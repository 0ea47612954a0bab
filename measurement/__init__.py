"""Pure statistics for campaign evaluations: DataFrames in, tidy results out."""

from measurement.assignment_record import AssignmentRecord
from measurement.attrition import (
    ATTRITION_COLUMNS,
    DifferentialAttrition,
    LeeBounds,
    attrition_table,
    differential_attrition,
    follow_up_status,
    lee_bounds,
)
from measurement.balance import (
    BALANCE_COLUMNS,
    WaldTest,
    baseline_balance,
    joint_orthogonality,
    wald_test,
)
from measurement.binary import BinaryFit, estimate_binary_effect, fit_binary_model
from measurement.change import CHANGE_COLUMNS, CHANGE_LABEL, within_arm_change
from measurement.constructs import ItemSpec, recode_items, score_constructs
from measurement.descriptives import (
    DESCRIPTIVE_COLUMNS,
    MISSING_COLUMNS,
    describe_responses,
    missing_by_reason,
)
from measurement.effects import EffectEstimate, estimate_ancova, estimate_did
from measurement.errors import (
    DesignError,
    FewClustersWarning,
    LowReliabilityWarning,
    StatisticalCaveatWarning,
)
from measurement.heterogeneity import HETEROGENEITY_COLUMNS, estimate_effect_by_group
from measurement.indices import INDEX_COMPONENT_COLUMNS, SummaryIndex, summary_index
from measurement.linear_model import LinearFit, fit_linear_model
from measurement.multiple_testing import (
    FAMILY_ADJUSTED_COLUMNS,
    STEPDOWN_COLUMNS,
    adjust_within_families,
    benjamini_hochberg,
    romano_wolf_p_values,
    sharpened_q_values,
    stepdown_p_values,
    westfall_young_p_values,
)
from measurement.ordinal import OrderedLogitFit, estimate_ordered_logit, fit_ordered_logit
from measurement.propensity import (
    OVERLAP_COLUMNS,
    WEIGHTED_BALANCE_COLUMNS,
    PoorOverlapWarning,
    PropensityModel,
    estimate_exposure_effect,
    estimate_propensity,
    weighted_balance,
)
from measurement.randomization_inference import (
    RandomizationResult,
    randomization_inference,
    randomization_inference_effect,
)
from measurement.reliability import RELIABILITY_COLUMNS, construct_reliability, feldt_interval
from measurement.rerandomization import BalanceRule, standardized_differences
from measurement.study_effects import EFFECT_COLUMNS, estimate_study_effects
from measurement.wild_bootstrap import (
    WildBootstrapResult,
    wild_bootstrap_effect,
    wild_cluster_bootstrap,
)

__all__ = [
    "ATTRITION_COLUMNS",
    "BALANCE_COLUMNS",
    "CHANGE_COLUMNS",
    "CHANGE_LABEL",
    "DESCRIPTIVE_COLUMNS",
    "EFFECT_COLUMNS",
    "FAMILY_ADJUSTED_COLUMNS",
    "HETEROGENEITY_COLUMNS",
    "INDEX_COMPONENT_COLUMNS",
    "MISSING_COLUMNS",
    "OVERLAP_COLUMNS",
    "RELIABILITY_COLUMNS",
    "STEPDOWN_COLUMNS",
    "WEIGHTED_BALANCE_COLUMNS",
    "AssignmentRecord",
    "BalanceRule",
    "BinaryFit",
    "DesignError",
    "DifferentialAttrition",
    "EffectEstimate",
    "FewClustersWarning",
    "ItemSpec",
    "LeeBounds",
    "LinearFit",
    "LowReliabilityWarning",
    "OrderedLogitFit",
    "PoorOverlapWarning",
    "PropensityModel",
    "RandomizationResult",
    "StatisticalCaveatWarning",
    "SummaryIndex",
    "WaldTest",
    "WildBootstrapResult",
    "adjust_within_families",
    "attrition_table",
    "baseline_balance",
    "benjamini_hochberg",
    "construct_reliability",
    "describe_responses",
    "differential_attrition",
    "estimate_ancova",
    "estimate_binary_effect",
    "estimate_did",
    "estimate_effect_by_group",
    "estimate_exposure_effect",
    "estimate_ordered_logit",
    "estimate_propensity",
    "estimate_study_effects",
    "feldt_interval",
    "fit_binary_model",
    "fit_linear_model",
    "fit_ordered_logit",
    "follow_up_status",
    "joint_orthogonality",
    "lee_bounds",
    "missing_by_reason",
    "randomization_inference",
    "randomization_inference_effect",
    "recode_items",
    "romano_wolf_p_values",
    "score_constructs",
    "sharpened_q_values",
    "standardized_differences",
    "stepdown_p_values",
    "summary_index",
    "wald_test",
    "weighted_balance",
    "westfall_young_p_values",
    "wild_bootstrap_effect",
    "wild_cluster_bootstrap",
    "within_arm_change",
]
