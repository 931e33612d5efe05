"""Rendering: each function computes its record with :mod:`search.analysis` and draws it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from search.analysis import optimization_history, param_importance

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_optimization_history", "plot_param_importance"]


def _figure():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg") and not _has_display():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY")) or os.name == "nt"


def plot_optimization_history(trials: Any, metric: str = "objective",
                              direction: str | None = None,
                              path: str | None = None) -> Figure:
    """Objective per trial and the best so far; saved to ``path`` when given.

    ``direction`` None means the study's own (a :class:`~search.study.Study` or
    ``HPOptimizer``; ``"maximize"`` for plain records), so "best so far" of a minimized
    study is its lowest value.

    Returns:
      The matplotlib ``Figure``.
    """
    rec = optimization_history(trials, metric, direction)
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(rec.numbers, rec.values, s=18, label=metric, color="tab:blue")
    ax.step(rec.numbers, rec.best, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(f"Optimization history ({rec.direction})")
    ax.legend(loc="best")
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=120)
    return fig


def plot_param_importance(
    trials: Any, path: str | None = None, n_trees: int = 64, seed: int = 0,
) -> Figure:
    """Horizontal bars of :func:`search.analysis.param_importance`; saved when ``path``."""
    rec = param_importance(trials, n_trees=n_trees, seed=seed)
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rec.names) + 1.5))
    ax.barh(list(reversed(rec.names)), list(reversed(rec.importances)), color="tab:green")
    ax.set_xlabel("importance (share of explained variance)")
    ax.set_title(f"Hyperparameter importance ({rec.n_trials} trials)")
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=120)
    return fig
