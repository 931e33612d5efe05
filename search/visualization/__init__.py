"""Matplotlib figures of analysis records (:mod:`search.analysis` computes them)."""

from search.visualization.plots import plot_optimization_history, plot_param_importance

__all__ = ["plot_optimization_history", "plot_param_importance"]
