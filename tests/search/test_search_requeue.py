"""Re-queueing interrupted trials, what counts toward a budget of trials, failure reasons."""

import socket

import pytest

from search import TrialState, create_study, load_study
from search.storage import BaseStorage, InMemoryStorage

SPACE = {"x": {"type": "float", "min": 0.0, "max": 1.0}, "k": {"type": "int", "min": 1, "max": 4}}


@pytest.fixture(params=["memory", "sqlite"])
def storage(request, tmp_path):
    return InMemoryStorage() if request.param == "memory" else f"sqlite:///{tmp_path / 'r.db'}"


def test_requeue_turns_a_running_trial_back_into_a_waiting_one(storage):
    study = create_study("s", storage, SPACE, "random", seed=0)
    done, running = study.ask(2)
    study.tell(done, 0.5)
    running.report(1, 0.7)
    assert study.requeue(running, "interrupted (Ctrl-C)") == running.number
    t = study.trials[running.number]
    assert t.state == TrialState.WAITING and t.intermediate_values == {}
    assert t.datetime_start is None and "worker" not in t.system_attrs
    assert t.system_attrs["requeued"] == 1
    assert t.system_attrs["requeue_reason"] == "interrupted (Ctrl-C)"
    assert study.requeue(done) is None  # a finished trial stays finished
    assert study.n_counted() == 1
    again = study.ask()  # the same configuration, under the same number, comes first
    assert (again.number, again.params) == (running.number, running.params)
    study.tell(again, 0.25)
    assert study.n_counted() == 2 and len(study.trials) == 2


def test_a_storage_without_requeue_fails_and_copies_the_trial():
    class Plain(InMemoryStorage):  # what a third-party storage gets: the base-class default
        requeue_trial = BaseStorage.requeue_trial

    study = create_study("s", Plain(), SPACE, "random", seed=0)
    t = study.ask()
    new = study.requeue(t, "interrupted")
    old, copy = study.trials
    assert old.state == TrialState.FAILED and old.system_attrs["fail_reason"] == "interrupted"
    assert copy.number == new and copy.state == TrialState.WAITING and copy.params == t.params
    assert study.n_counted() == 0  # the failure of a re-queued trial does not count


def test_failures_of_requeued_trials_do_not_count_toward_the_budget(tmp_path):
    """A killed run's RUNNING trials are failed and re-queued on resume; only their copies
    count once trained (a killed 128-trial run used to end with fewer trained)."""
    url = f"sqlite:///{tmp_path / 'k.db'}"
    study = create_study("s", url, SPACE, "random", seed=0)
    for t in study.ask(3):
        study.tell(t, 1.0)
    dead = f"{socket.gethostname()}:999999999"  # a process on this host that is gone
    study.storage.create_trials(study.study_id, [
        {"params": {"x": 0.5, "k": 2}, "x": None, "state": TrialState.RUNNING,
         "system_attrs": {"worker": dead}}] * 2)
    failed = study.ask()
    study.tell(failed, state="failed", reason="diverged: the training loss became nan in epoch 1")
    resumed = load_study("s", url)
    states = [t.state for t in resumed.trials]
    assert states.count(TrialState.FAILED) == 3 and states.count(TrialState.WAITING) == 2
    assert resumed.n_counted() == 4  # 3 complete + the diverged one; not the 2 dead ones
    for t in resumed.ask(2):
        assert t.params == {"x": 0.5, "k": 2}
        resumed.tell(t, 0.0)
    assert resumed.n_counted() == 6


def test_tell_stores_the_reason_of_a_failed_trial(storage):
    study = create_study("s", storage, SPACE, "random", seed=0)
    a, b, c = study.ask(3)
    study.tell(a, state="failed", reason="diverged: loss 1e+23")
    study.tell(b, state="failed")
    study.tell(c, float("nan"))
    reasons = [t.system_attrs.get("fail_reason") for t in study.trials]
    assert reasons[0] == "diverged: loss 1e+23" and reasons[1] is None
    assert "not finite" in reasons[2]
