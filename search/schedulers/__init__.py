"""Early stopping for trials that report as they go: median rule, (A)SHA, Hyperband."""

from search.schedulers.asha import ASHA, SuccessiveHalving
from search.schedulers.base import History, Scheduler
from search.schedulers.hyperband import Hyperband
from search.schedulers.median import MedianStopping

__all__ = ["Scheduler", "History", "MedianStopping", "SuccessiveHalving", "ASHA", "Hyperband"]
