"""The optimization history follows its study's direction; rendered once for real."""

from __future__ import annotations

import math

import matplotlib
import pytest

matplotlib.use("Agg")

from neural.hpo.visualization import plot_optimization_history as seed_plot  # noqa: E402
from search import create_study  # noqa: E402
from search.analysis import direction_of, optimization_history  # noqa: E402
from search.visualization import plot_optimization_history  # noqa: E402

VALUES = [3.0, 1.0, 2.0, float("nan"), 0.5]


def _study(direction):
    study = create_study(space={"x": {"type": "float", "min": 0.0, "max": 1.0}},
                         direction=direction, seed=0)
    for v in VALUES:
        study.tell(study.ask(), v)
    return study


def test_a_minimized_study_draws_its_lowest_values_as_the_best_so_far(tmp_path):
    study = _study("minimize")
    rec = optimization_history(study)
    assert rec.direction == "minimize"
    assert rec.best == (3.0, 1.0, 1.0, 1.0, 0.5)
    assert math.isnan(rec.values[3])  # the NaN trial failed
    fig = plot_optimization_history(study, path=str(tmp_path / "h.png"))
    line = fig.axes[0].lines[0]  # the best-so-far step line
    assert list(line.get_ydata()) == [3.0, 1.0, 1.0, 1.0, 0.5]
    assert "minimize" in fig.axes[0].get_title()
    assert (tmp_path / "h.png").stat().st_size > 1000
    assert seed_plot(study).axes[0].lines[0].get_ydata()[-1] == 0.5  # the seed's import too


def test_a_maximized_study_and_an_explicit_direction():
    study = _study("maximize")
    assert optimization_history(study).best == (3.0, 3.0, 3.0, 3.0, 3.0)
    assert optimization_history(study, direction="min").best[-1] == 0.5
    records = [{"number": t.number, "params": t.params, "value": t.value,
                "state": t.state.value} for t in study.trials]
    assert direction_of(records) == "maximize"  # plain records: no direction of their own
    with pytest.raises(ValueError, match="direction must be 'minimize' or 'maximize', got 'up'"):
        optimization_history(study, direction="up")


def test_an_optimizer_lends_its_study_direction():
    class Opt:  # what HPOptimizer exposes: records and the study
        def __init__(self, study):
            self.study, self.trials = study, [
                {"number": t.number, "params": t.params, "value": t.value,
                 "state": t.state.value.lower()} for t in study.trials]

    assert direction_of(Opt(_study("minimize"))) == "minimize"
    assert optimization_history(Opt(_study("minimize"))).best[-1] == 0.5
