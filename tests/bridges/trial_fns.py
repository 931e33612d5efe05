"""Trial functions for the worker-pool tests (importable by spawned worker processes)."""

from __future__ import annotations

import os

from neural_jax.executors.outcome import TrialOutcome as MemberResult


def fake_trial(net, dataset, config, overrides=None, index=0):
    """A trial that 'trains' instantly: its value is its learning rate."""
    lr = float(config.get("lr", 0.0))
    return MemberResult(index=index, config=dict(config),
                        history=[{"epoch": 1, "val_accuracy": lr}],
                        val={"accuracy": lr}, test={}, variables={"w": [lr]})


def crashing_trial(net, dataset, config, overrides=None, index=0):
    """Kills its worker process when ``config["crash"]`` is set; raises on ``"raise"``."""
    if config.get("crash"):
        os._exit(3)
    if config.get("raise"):
        raise RuntimeError("the framework failed")
    return fake_trial(net, dataset, config, overrides, index)


def seed_trial(net, dataset, config, overrides=None, index=0):
    """Echoes the overrides it was called with (to check where a trial's seed goes)."""
    return MemberResult(index=index, config=dict(config), history=[], val=dict(overrides or {}),
                        test={})


def curve_trial(net, dataset, config, overrides=None, index=0, should_stop=None):
    """'Trains' ``len(config["curve"])`` epochs whose validation loss is the curve, through the
    shared epoch loop (so a scheduler's ``should_stop`` acts as it does on a real trial)."""
    from types import SimpleNamespace

    from neural_jax.population.loop import fit_epochs

    curve = list(config["curve"])
    spec = SimpleNamespace(epochs=len(curve), patience=None, monitor="val_loss")
    at = {"epoch": 0}

    def train(epoch):
        at["epoch"] = epoch
        return {"loss": 1.0}

    out = fit_epochs(spec, train, lambda: {"loss": curve[at["epoch"] - 1]}, lambda: at["epoch"],
                     should_stop=should_stop)
    return MemberResult(index=index, config=dict(config), history=out.history,
                        val={"loss": curve[out.best_epoch - 1]}, test={},
                        stopped_epoch=out.stopped_epoch, stopped_by=out.stopped_by)


def pid_trial(net, dataset, config, overrides=None, index=0):
    """Reports the worker process it ran in (``val["pid"]``); crashes like crashing_trial."""
    if config.get("crash"):
        os._exit(3)
    return MemberResult(index=index, config=dict(config), history=[],
                        val={"pid": os.getpid(), **dict(overrides or {})}, test={})


def sleepy_trial(net, dataset, config, overrides=None, index=0):
    """Sleeps ``config["sleep"]`` seconds; reports whether its process ignores Ctrl-C."""
    import signal
    import time

    time.sleep(config.get("sleep", 0))
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    return MemberResult(index=index, config=dict(config), history=[],
                        val={"pid": os.getpid(), "sigint_ignored": ignored}, test={})


def killed_trial(net, dataset, config, overrides=None, index=0):
    """Its worker is killed with SIGKILL mid-trial when ``config["kill"]`` is set (as the
    kernel's out-of-memory killer does); the others wait a little, then report their pid."""
    import signal
    import time

    if config.get("kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    return pid_trial(net, dataset, config, overrides, index)


def size_trial(net, dataset, config, overrides=None, index=0):
    """Reports the size of the dataset it was given."""
    return MemberResult(index=index, config=dict(config), history=[],
                        val={"size": int(dataset.size)}, test={})


def segfault_trial(net, dataset, config, overrides=None, index=0):
    """Crashes its worker with a segmentation fault (as a bug in a framework's C++ would)."""
    import ctypes

    ctypes.string_at(0)
