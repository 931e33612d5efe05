"""Study: ask/tell/optimize, failures, errors, enqueue, determinism, several objectives."""

import math

import numpy as np
import pytest

import search
from search import (
    SearchExhausted,
    TrialFinishedError,
    TrialNotFoundError,
    TrialPruned,
    TrialState,
    create_study,
)
from search.strategies import GridSearch, RandomSearch, Strategy

QUAD = {"x": {"type": "float", "min": -5.0, "max": 5.0},
        "y": {"type": "float", "min": -5.0, "max": 5.0}}


def quad(trial):
    return (trial.params["x"] - 1.0) ** 2 + (trial.params["y"] + 2.0) ** 2


class Recorder(RandomSearch):
    """Random search that remembers what it was told."""

    def __init__(self, seed=None):
        super().__init__(seed=seed)
        self.told = []

    def tell(self, x, y):
        self.told.extend(np.asarray(y).tolist())


def test_random_search_finds_a_decent_minimum():
    study = create_study(space=QUAD, strategy="random", seed=0)
    study.optimize(quad, n_trials=200)
    assert len(study.trials) == 200
    assert study.best_value < 0.3
    assert abs(study.best_params["x"] - 1.0) < 0.6 and abs(study.best_params["y"] + 2.0) < 0.6
    assert study.best_trial.state == TrialState.COMPLETE and study.best_trial.duration is not None


def test_ask_n_and_tell_by_number_and_maximize():
    study = create_study(space=QUAD, direction="maximize", seed=1)
    trials = study.ask(8)
    assert len(trials) == 8 and len({t.number for t in trials}) == 8
    assert len({tuple(t.params.values()) for t in trials}) == 8
    for t in trials:
        study.tell(t.number, -quad(t))
    assert study.best_value == max(t.value for t in study.trials)
    single = study.ask()
    assert isinstance(single, search.Trial) and single.number == 8


def test_failed_nan_and_raising_objectives_never_reach_the_strategy():
    rec = Recorder()
    study = create_study(space=QUAD, strategy=rec, seed=0)

    def objective(trial):
        if trial.number % 3 == 0:
            raise RuntimeError("diverged")
        if trial.number % 3 == 1:
            return float("nan")
        return quad(trial)

    study.optimize(objective, n_trials=12)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAILED) == 8 and states.count(TrialState.COMPLETE) == 4
    assert "RuntimeError: diverged" in study.trials[0].system_attrs["fail_reason"]
    assert "not finite" in study.trials[1].system_attrs["fail_reason"]
    assert len(rec.told) == 4 and all(math.isfinite(v) for v in rec.told)
    assert study.best_trial.number % 3 == 2


def test_uncaught_exception_fails_the_trial_then_propagates():
    study = create_study(space=QUAD, seed=0)
    with pytest.raises(KeyError):
        study.optimize(lambda t: {}["missing"], n_trials=3, catch=())
    assert [t.state for t in study.trials] == [TrialState.FAILED]


def test_tell_unknown_or_finished_trial():
    study = create_study(space=QUAD, seed=0)
    t = study.ask()
    study.tell(t, 1.0)
    with pytest.raises(TrialFinishedError, match="already complete"):
        study.tell(t, 2.0)
    with pytest.raises(TrialNotFoundError, match="no trial number 99"):
        study.tell(99, 1.0)
    t2 = study.ask()
    with pytest.raises(ValueError, match="needs the objective value"):
        study.tell(t2)
    with pytest.raises(ValueError, match="expected 1 objective"):
        study.tell(t2, [1.0, 2.0])
    study.tell(t2, state="failed")
    assert study.trials[1].state == TrialState.FAILED


def test_pruning_with_report_and_scheduler():
    study = create_study(space=QUAD, seed=0, scheduler=search.MedianStopping(min_trials=2))

    def objective(trial):
        base = quad(trial)
        for step in range(5):
            trial.report(step, base + 5 - step)
            if trial.should_prune():
                raise TrialPruned()
        return base

    study.optimize(objective, n_trials=20)
    states = [t.state for t in study.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert all(t.intermediate_values and t.values is None for t in pruned)
    with pytest.raises(TrialFinishedError):
        study.storage.set_intermediate(study.study_id, pruned[0].number, {9: 1.0})


def test_enqueue_comes_first():
    rec = Recorder()
    study = create_study(space=QUAD | {"c": {"type": "categorical", "values": ["a", "b"]}},
                         strategy=rec, seed=0)
    n0 = study.enqueue({"x": 1.0, "y": -2.0, "c": "b"})
    n1 = study.enqueue({"x": 0.0, "y": 0.0, "c": "a"})
    trials = study.ask(3)
    assert [t.number for t in trials[:2]] == [n0, n1]
    assert trials[0].params == {"x": 1.0, "y": -2.0, "c": "b"}
    assert trials[2].number == 2
    study.tell(trials[0], 0.0)
    assert study.best_params == {"x": 1.0, "y": -2.0, "c": "b"} and rec.told == [0.0]
    with pytest.raises(search.SearchSpaceError, match="'x'"):
        study.enqueue({"x": 10.0, "y": 0.0, "c": "a"})


@pytest.mark.parametrize("strategy", ["random", "grid"])
def test_same_seed_same_study(strategy):
    def run(seed):
        study = create_study(space=QUAD | {"k": {"type": "int", "min": 1, "max": 9}},
                             strategy=strategy, seed=seed)
        study.optimize(quad, n_trials=15)
        return [t.params for t in study.trials]

    assert run(3) == run(3)
    if strategy == "random":
        assert run(3) != run(4)


def test_grid_ends_cleanly():
    study = create_study(space={"a": {"type": "categorical", "values": [1, 2, 3]},
                                "b": {"type": "int", "min": 0, "max": 1}},
                         strategy=GridSearch(), seed=0)
    study.optimize(lambda t: t.params["a"] * 10 + t.params["b"], n_trials=100)
    assert len(study.trials) == 6
    assert (sorted((t.params["a"], t.params["b"]) for t in study.trials)
            == [(a, b) for a in (1, 2, 3) for b in (0, 1)])
    with pytest.raises(SearchExhausted):
        study.ask()


def test_multi_objective_pareto_front():
    study = create_study(space={"x": {"type": "float", "min": 0.0, "max": 1.0}},
                         directions=["minimize", "minimize"], seed=0)
    study.optimize(lambda t: (t.params["x"], (1 - t.params["x"]) ** 2 + 0.1), n_trials=30)
    # every trial lies on the front of this problem (f1 up means f2 down), except none
    assert len(study.best_trials) == 30
    front = study.pareto_front()
    assert front.shape == (30, 2)
    assert (np.diff(front[:, 0]) >= 0).all() and (np.diff(front[:, 1]) <= 0).all()
    with pytest.raises(ValueError, match="best_trials"):
        _ = study.best_trial

    mixed = create_study(space={"x": {"type": "float", "min": 0.0, "max": 1.0}},
                         directions=["minimize", "maximize"], seed=0)
    for v in [(1.0, 1.0), (2.0, 2.0), (0.5, 0.5), (2.0, 0.1), (1.0, 3.0)]:
        mixed.tell(mixed.ask(), v)
    assert sorted(tuple(t.values) for t in mixed.best_trials) == [(0.5, 0.5), (1.0, 3.0)]


def test_optimize_threads_and_timeout():
    study = create_study(space=QUAD, seed=0)
    study.optimize(quad, n_trials=40, n_jobs=4)
    assert len(study.trials) == 40 and len({t.number for t in study.trials}) == 40
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    study.optimize(quad, timeout=0.2)
    assert len(study.trials) > 40


def test_user_attrs_and_strategy_contract_errors():
    study = create_study(space=QUAD, seed=0)
    t = study.ask()
    t.set_user_attr("note", "hi")
    assert study.trials[0].user_attrs == {"note": "hi"}

    class Broken(Strategy):
        def ask(self, n):
            return np.zeros((n, 5))

        def tell(self, x, y):
            pass

    with pytest.raises(RuntimeError, match="shape"):
        create_study(space=QUAD, strategy=Broken(), seed=0).ask()
