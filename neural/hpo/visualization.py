"""``from neural.hpo.visualization import plot_optimization_history, plot_param_importance``."""

from search.visualization import plot_optimization_history, plot_param_importance

__all__ = ["plot_optimization_history", "plot_param_importance"]
