"""Ctrl-C in a JAX search: recorded by :class:`neural_jax.interrupt.DeferredInterrupt`,
raised between epochs, the running trials re-queued and SIGINT's handler given back."""

from __future__ import annotations

import signal
import threading
import warnings

import pytest

from neural_jax.hpo import HPOptimizer
from neural_jax.interrupt import STOPPING, DeferredInterrupt
from tests.tiny_search import tiny_lr_search

TINY = tiny_lr_search(4)


def test_the_first_ctrl_c_is_recorded_the_second_raises_and_the_handler_comes_back(capsys):
    before = signal.getsignal(signal.SIGINT)
    with DeferredInterrupt() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.requested
        assert capsys.readouterr().err == STOPPING + "\n"
        with pytest.raises(KeyboardInterrupt):
            stop.check()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # the second one: at once
        assert signal.getsignal(signal.SIGINT) is before
    assert signal.getsignal(signal.SIGINT) is before


def test_the_handler_comes_back_on_errors_and_nothing_is_installed_off_the_main_thread():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(ValueError), DeferredInterrupt():
        assert signal.getsignal(signal.SIGINT) is not before
        raise ValueError("boom")
    assert signal.getsignal(signal.SIGINT) is before
    seen = []

    def off_main() -> None:
        with DeferredInterrupt() as stop:
            seen.append(stop._installed)
            stop.check()  # never raises

    t = threading.Thread(target=off_main)
    t.start()
    t.join()
    assert seen == [False]


def test_a_ctrl_c_in_the_first_epoch_stops_the_search_there_and_requeues(tmp_path):
    db = f"sqlite:///{tmp_path / 'i.db'}"
    epochs = []

    def on_epoch(epoch, records):
        epochs.append(epoch)
        if epoch == 1:
            signal.raise_signal(signal.SIGINT)  # the user's Ctrl-C, in the middle of a round

    opt = HPOptimizer(n_trials=4, population=2, storage=db, study_name="s", on_epoch=on_epoch,
                      compilation_cache=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert opt.optimize(TINY) == {}
    assert opt.interrupted and epochs == [1]  # stopped after the epoch it was pressed in
    said = [str(w.message) for w in caught]
    assert any("0 finished trials kept and 2 running trials re-queued in the study 's'" in m
               for m in said), said
    assert [t.state.name for t in opt.study.trials] == ["WAITING", "WAITING"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    again = HPOptimizer(n_trials=4, population=2, storage=db, study_name="s",
                        compilation_cache=False)
    best = again.optimize(TINY)
    assert not again.interrupted and set(best) == {"optimizer.learning_rate"}
    assert sorted(t.state.name for t in again.study.trials) == ["COMPLETE"] * 4
