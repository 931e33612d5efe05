"""The cross-framework trial runner: order, worker processes, crashes and bad input."""

from __future__ import annotations

import os
import pathlib

import pytest
from trial_fns import crashing_trial, curve_trial, fake_trial

from bridges.trials import TrialPool, run_trials
from neural_jax.core.errors import NeuralValidationError
from neural_jax.executors import normalize_backend


def test_backend_names():
    assert normalize_backend("torch") == "pytorch" and normalize_backend("Keras") == "tensorflow"
    with pytest.raises(NeuralValidationError, match="unknown backend 'mxnet'"):
        normalize_backend("mxnet")


def test_in_process_keeps_order_and_drops_weights():
    configs = [{"lr": 0.1 * i} for i in range(3)]
    seen = []
    out = run_trials(None, None, configs, "pytorch", fn=fake_trial, on_result=seen.append)
    assert [r.val["accuracy"] for r in out] == [0.0, 0.1, 0.2]
    assert [r.index for r in out] == [0, 1, 2] and len(seen) == 3
    assert all(r.variables is None for r in out)
    kept = run_trials(None, None, configs[:1], "pytorch", fn=fake_trial, keep_variables=True)
    assert kept[0].variables == {"w": [0.0]}


def test_a_trial_seed_becomes_an_override():
    from trial_fns import seed_trial

    out = run_trials(None, None, [{"lr": 0.1, "seed": 7}, {"lr": 0.2}], "pytorch", fn=seed_trial,
                     overrides={"epochs": 2})
    assert out[0].config == {"lr": 0.1} and out[0].val == {"seed": 7, "epochs": 2}
    assert out[1].val == {"epochs": 2}


def test_a_raising_trial_fails_alone():
    out = run_trials(None, None, [{"lr": 0.5}, {"raise": True}], "tensorflow", fn=crashing_trial)
    assert not out[0].failed and out[1].failed
    assert "RuntimeError: the framework failed" in out[1].message


def test_worker_processes_survive_a_killed_worker():
    configs = [{"lr": 0.1}, {"crash": True}, {"lr": 0.3}, {"raise": True}, {"lr": 0.5}]
    out = run_trials(None, None, configs, "pytorch", workers=2, fn=crashing_trial)
    assert [r.index for r in out] == list(range(5))
    assert [r.failed for r in out] == [False, True, False, True, False]
    assert "worker process" in out[1].message and "died" in out[1].message
    assert [out[i].val["accuracy"] for i in (0, 2, 4)] == [0.1, 0.3, 0.5]


CURVES = [[0.5, 0.4, 0.3, 0.2], [0.9, 0.8, 0.7, 0.6], [0.4, 0.3, 0.2, 0.1], [0.8, 0.9, 0.9, 0.9]]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_scheduler_prunes_trials_after_their_epochs(workers):
    from search.schedulers import SuccessiveHalving

    sh = SuccessiveHalving(min_resource=1, eta=2)
    out = run_trials(None, None, [{"curve": c} for c in CURVES], "pytorch", fn=curve_trial,
                     workers=workers, scheduler=sh, trial_ids=[10, 11, 12, 13])
    # every judged score reaches the caller's scheduler, under the trial ids
    assert sorted(sh._history) == [10, 11, 12, 13]
    assert sh._history[10] == {1: 0.5, 2: 0.4, 3: 0.3}  # judged after every epoch but the last
    assert not out[0].stopped_by and not out[2].stopped_by and len(out[2].history) == 4
    if workers == 1:
        # in one process every trial is judged against all earlier ones: at rung 1 trial 11
        # (0.9) is below the best half of {0.5, 0.9}; trial 13 (0.8) of {0.5, 0.9, 0.4, 0.8}
        assert [(r.stopped_by, r.stopped_epoch) for r in out] == [
            ("", None), ("scheduler", 1), ("", None), ("scheduler", 1)]
        assert sh._history[11] == {1: 0.9}
    assert all(len(r.history) == (r.stopped_epoch or 4) for r in out)


def test_without_a_scheduler_trials_run_their_epochs():
    out = run_trials(None, None, [{"curve": c} for c in CURVES], "pytorch", fn=curve_trial)
    assert [len(r.history) for r in out] == [4, 4, 4, 4] and not any(r.stopped_by for r in out)


def test_a_trial_pool_keeps_its_workers_across_calls():
    from trial_fns import pid_trial

    with TrialPool(2) as pool:
        first = run_trials(None, None, [{}, {}, {}], "pytorch", workers=2, fn=pid_trial, pool=pool)
        again = run_trials(None, None, [{}, {}], "pytorch", workers=2, fn=pid_trial, pool=pool)
        pids = {r.val["pid"] for r in first} | {r.val["pid"] for r in again}
        assert pool.starts == 2 and pids <= set(pool.pids()) and os.getpid() not in pids
        # a worker that dies fails its trial alone; it is replaced when trials remain (here
        # the other worker may have run them all by then), at the latest in the next call
        out = run_trials(None, None, [{"crash": True}, {}, {}], "pytorch", workers=2,
                         fn=pid_trial, pool=pool)
        assert [r.failed for r in out] == [True, False, False]
        assert "exit code 3" in out[0].message
        later = run_trials(None, None, [{}, {}], "pytorch", workers=2, fn=pid_trial, pool=pool)
        assert not any(r.failed for r in later) and pool.starts == 3 and len(pool.pids()) == 2
        # other settings go to the same workers (they keep their imported framework)
        other = run_trials(None, None, [{}, {}], "pytorch", workers=2, fn=pid_trial, pool=pool,
                           overrides={"epochs": 2})
        assert [r.val["epochs"] for r in other] == [2, 2] and pool.starts == 3
        # one trial still goes to a worker: this process never imports the framework
        (one,) = run_trials(None, None, [{}], "pytorch", workers=2, fn=pid_trial, pool=pool)
        assert one.val["pid"] in pool.pids()
    assert pool.pids() == []


def test_a_worker_killed_mid_trial_fails_only_that_trial():
    from trial_fns import killed_trial, pid_trial

    with TrialPool(2) as pool:
        out = run_trials(None, None, [{}, {"kill": True}, {}, {}], "pytorch", workers=2,
                         fn=killed_trial, pool=pool)
        assert [r.failed for r in out] == [False, True, False, False]
        assert "killed by SIGKILL" in out[1].message and "out of memory" in out[1].message
        assert [r.index for r in out] == [0, 1, 2, 3]
        # the next round runs on the replaced worker
        later = run_trials(None, None, [{}, {}], "pytorch", workers=2, fn=pid_trial, pool=pool)
        assert not any(r.failed for r in later) and len(pool.pids()) == 2


def test_a_crash_in_native_code_names_the_signal_and_the_fatal_error():
    from trial_fns import segfault_trial

    out = run_trials(None, None, [{}, {}], "pytorch", workers=2, fn=segfault_trial)
    assert all(r.failed for r in out)
    assert "killed by SIGSEGV" in out[0].message
    assert "its last output: Fatal Python error: Segmentation fault" in out[0].message


def test_a_large_dataset_reaches_every_worker():
    """Bigger than a pipe's buffer: written without blocking while the workers read it."""
    import numpy as np
    from trial_fns import size_trial

    data = np.arange(3_000_000, dtype=np.float32)  # 12 MB
    out = run_trials(None, data, [{}, {}, {}], "pytorch", workers=2, fn=size_trial)
    assert [r.val["size"] for r in out] == [data.size] * 3 and not any(r.failed for r in out)


def _local_trial(net, dataset, config, overrides=None, index=0):  # pragma: no cover
    raise AssertionError("never called")


def test_a_trial_function_workers_cannot_import_is_a_clear_error(monkeypatch):
    with pytest.raises(NeuralValidationError, match="cannot be sent to worker processes"):
        run_trials(None, None, [{}, {}], "pytorch", workers=2, fn=lambda *a, **k: None)
    monkeypatch.setattr(_local_trial, "__module__", "__main__")
    with pytest.raises(NeuralValidationError, match="defined in the script being run"):
        run_trials(None, None, [{}, {}], "pytorch", workers=2, fn=_local_trial)


def test_a_setup_the_workers_cannot_load_fails_the_trials_with_its_reason(monkeypatch):
    import sys
    import types

    phantom = types.ModuleType("phantom_trials")  # importable here, not in a worker
    exec("def trial(net, dataset, config, overrides=None, index=0):\n    return None",
         phantom.__dict__)
    phantom.trial.__module__ = "phantom_trials"
    monkeypatch.setitem(sys.modules, "phantom_trials", phantom)
    out = run_trials(None, None, [{}, {}, {}], "pytorch", workers=2, fn=phantom.trial)
    assert all(r.failed for r in out)
    assert "could not set up the trials" in out[0].message
    assert "No module named 'phantom_trials'" in out[0].message


def test_workers_that_cannot_start_fail_the_trials_instead_of_hanging(monkeypatch):
    import bridges._pool

    monkeypatch.setattr(bridges._pool, "_MODULE", "bridges.no_such_worker")
    out = run_trials(None, None, [{}, {}, {}], "pytorch", workers=2, fn=fake_trial)
    assert all(r.failed for r in out)
    assert "worker processes could not start" in out[0].message
    assert "exit code 1" in out[0].message and "no_such_worker" in out[0].message


def test_death_messages():
    from bridges._pool import death_message

    assert "killed by SIGSEGV" in death_message(-11, "Fatal Python error: Segmentation fault")
    assert "its last output: Fatal Python error" in death_message(-11, "Fatal Python error: x")
    assert "exit code 1" in death_message(1, "")


def test_an_interrupted_pool_stops_its_running_trials_at_once():
    """Ctrl-C reaches the whole process group: workers ignore it and leave the stopping to
    the caller, which (interrupted) terminates them instead of waiting for their trials."""
    import signal
    import time

    from trial_fns import sleepy_trial

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    t0 = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt), TrialPool(2) as pool:
            (quick, _) = run_trials(None, None, [{}, {}], "pytorch", workers=2,
                                    fn=sleepy_trial, pool=pool)
            assert quick.val["sigint_ignored"] and quick.val["pid"] != os.getpid()
            pids = pool.pids()
            signal.alarm(1)  # a Ctrl-C in this process during 60 s trials
            run_trials(None, None, [{"sleep": 60}] * 2, "pytorch", workers=2,
                       fn=sleepy_trial, pool=pool)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - t0 < 40  # the 60 s trials were abandoned, not awaited
    time.sleep(0.5)
    stats = [pathlib.Path(f"/proc/{p}/stat") for p in pids]
    alive = [st for st in stats if st.exists() and st.read_text().split()[2] != "Z"]
    assert not alive and pool.pids() == []


def test_bad_arguments():
    with pytest.raises(NeuralValidationError, match="PyTorch or TensorFlow"):
        run_trials(None, None, [{}], "jax", fn=fake_trial)
    with pytest.raises(NeuralValidationError, match="workers"):
        run_trials(None, None, [{}], "pytorch", workers=0, fn=fake_trial)
    with pytest.raises(NeuralValidationError, match="2 distinct ids"):
        run_trials(None, None, [{}, {}], "pytorch", fn=fake_trial, trial_ids=[3, 3])
    with pytest.raises(NeuralValidationError, match="workers"):
        TrialPool(0)
