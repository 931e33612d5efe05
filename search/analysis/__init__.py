"""Analysis records computed from trials (rendering lives in :mod:`search.visualization`)."""

from search.analysis.history import (
    OptimizationHistory,
    direction_of,
    optimization_history,
    trial_rows,
)
from search.analysis.importance import ParamImportance, param_importance

__all__ = ["OptimizationHistory", "ParamImportance", "direction_of", "optimization_history",
           "param_importance", "trial_rows"]
