"""search: a standalone black-box hyperparameter optimisation library.

Example::

    import search

    study = search.create_study(
        space={"x": {"type": "float", "min": -5, "max": 5},
               "act": {"type": "categorical", "values": ["relu", "tanh"]}},
        strategy="random", seed=0)
    study.optimize(lambda t: (t.params["x"] - 1) ** 2, n_trials=50)
    print(study.best_params, study.best_value)
"""

from search._create import create_study, load_study
from search.distributions import Categorical, Condition, Float, Int
from search.errors import (
    DuplicateStudyError,
    SearchError,
    SearchExhausted,
    SearchSpaceError,
    StorageError,
    StrategyUnavailableError,
    StudyNotFoundError,
    TrialFinishedError,
    TrialNotFoundError,
    UnknownStrategyError,
)
from search.schedulers import ASHA, Hyperband, MedianStopping, Scheduler, SuccessiveHalving
from search.space import Space
from search.storage import BaseStorage, InMemoryStorage, get_storage
from search.strategies import Dimension, Strategy, available_strategies, get_strategy
from search.study import Study
from search.trial import FrozenTrial, Trial, TrialPruned, TrialState

__all__ = [
    "create_study", "load_study", "Study", "Trial", "FrozenTrial", "TrialState", "TrialPruned",
    "Space", "Float", "Int", "Categorical", "Condition",
    "Strategy", "Dimension", "get_strategy", "available_strategies",
    "Scheduler", "MedianStopping", "SuccessiveHalving", "ASHA", "Hyperband",
    "BaseStorage", "InMemoryStorage", "get_storage",
    "SearchError", "SearchSpaceError", "StorageError", "DuplicateStudyError", "StudyNotFoundError",
    "TrialNotFoundError", "TrialFinishedError", "UnknownStrategyError", "StrategyUnavailableError",
    "SearchExhausted",
]
