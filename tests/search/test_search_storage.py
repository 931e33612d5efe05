"""SQL storage: resume by name, crash and resume, four processes, corrupt and locked files."""

import pathlib
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

import search
from search import (
    DuplicateStudyError,
    SearchSpaceError,
    StorageError,
    StudyNotFoundError,
    TrialState,
    create_study,
    load_study,
)
from search._sql_storage import SQLStorage

WORKER = pathlib.Path(__file__).with_name("study_worker.py")
sys.path.insert(0, str(WORKER.parent))
from study_worker import SPACE  # noqa: E402


def objective(trial):
    return (trial.params["x"] - 1) ** 2 + trial.params["k"] + (trial.params["act"] == "tanh")


def test_resume_by_name_keeps_trials_and_strategy_state(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = create_study("grid", storage=url, space=SPACE,
                         strategy=search.strategies.GridSearch(n_points=3), seed=0)
    study.optimize(objective, n_trials=10)
    first = [t.params for t in study.trials]
    again = load_study("grid", storage=url)
    assert type(again.strategy).__name__ == "GridSearch" and again.strategy.n_points == 3
    assert again.strategy.state_dict() == {"cursor": 10}
    assert [t.params for t in again.trials] == first
    again.optimize(objective, n_trials=10)
    params = [tuple(t.params.values()) for t in again.trials]
    assert len(params) == 20 and len(set(params)) == 20  # the grid went on, no repeats
    assert again.best_value == min(t.value for t in again.trials)

    with pytest.raises(DuplicateStudyError, match="load_if_exists"):
        create_study("grid", storage=url, space=SPACE, load_if_exists=False)
    with pytest.raises(StudyNotFoundError, match="'grid'"):
        load_study("gird", storage=url)
    with pytest.raises(SearchSpaceError, match="another search space"):
        create_study("grid", storage=url, space={"x": {"type": "float", "min": 0, "max": 1}})


def test_multi_objective_and_tuple_values_in_sql(tmp_path):
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    space = {"k": {"type": "categorical", "values": [[3, 3], [5, 5]]},
             "x": {"type": "float", "min": 0, "max": 1}}
    study = create_study("mo", storage=url, space=space, directions=["minimize", "maximize"],
                         seed=0)
    study.optimize(lambda t: (t.params["x"], t.params["k"][0] * t.params["x"]), n_trials=12)
    again = load_study("mo", storage=url)
    assert again.directions == ["minimize", "maximize"]
    assert {t.number for t in again.best_trials} == {t.number for t in study.best_trials}
    assert all(isinstance(t.params["k"], tuple) for t in again.ask(4))


def _reference_params(n):
    study = create_study(space=SPACE, strategy="random", seed=7)
    study.optimize(objective, n_trials=n)
    return [t.params for t in study.trials]


def test_sigkill_mid_study_then_resume(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    marker = tmp_path / "hanging"
    proc = subprocess.Popen([sys.executable, str(WORKER), url, "crash", "7", "100", "6",
                             str(marker)])
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "worker ended early"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    before = SQLStorage(url)
    sid = before.find_study("crash")
    states = [t.state for t in before.get_trials(sid)]
    assert states == [TrialState.COMPLETE] * 6 + [TrialState.RUNNING]  # the running one is recorded

    study = load_study("crash", storage=url)
    trials = study.trials
    assert trials[6].state == TrialState.FAILED and "died" in trials[6].system_attrs["fail_reason"]
    assert trials[7].state == TrialState.WAITING and trials[7].system_attrs["requeued_from"] == 6
    assert trials[7].params == trials[6].params
    study.optimize(objective, n_trials=4)
    complete = [t.params for t in study.get_trials([TrialState.COMPLETE])]
    # finished trials kept, the lost one re-run, and the restored strategy state continues
    # the very sequence an uninterrupted run produces
    assert complete == _reference_params(10)


def test_four_processes_never_share_a_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    study = create_study("shared", storage=url, space=SPACE, strategy="random", seed=0)
    for i in range(8):
        study.enqueue({"x": i - 4.0, "k": 1 + i % 8, "act": "relu"})
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), url, "shared", str(100 + i), "12"],
                         stdout=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    pids = set()
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        pids.add(out.strip())
    trials = study.trials
    assert [t.number for t in trials] == list(range(48))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert {t.system_attrs["worker"].rpartition(":")[2] for t in trials} == pids and len(pids) == 4
    # each enqueued point ran once
    assert [t.params["x"] for t in trials[:8]] == [i - 4.0 for i in range(8)]
    assert len({tuple(t.params.values()) for t in trials}) == 48


def test_corrupt_or_unopenable_storage(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StorageError, match=r"corrupt\.db.*not a readable database"):
        create_study("s", storage=f"sqlite:///{bad}", space=SPACE)
    with pytest.raises(StorageError, match="does not exist"):
        create_study("s", storage=f"sqlite:///{tmp_path}/no/such/dir/x.db", space=SPACE)
    with pytest.raises(StorageError, match="cannot parse"):
        create_study("s", storage="not a url", space=SPACE)
    with pytest.raises(StorageError, match="nosuchdb"):
        create_study("s", storage="nosuchdb://host/db", space=SPACE)


def test_locked_database_waits_then_reports(tmp_path):
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    storage = SQLStorage(url, lock_timeout=1.0, engine_kwargs={"connect_args": {"timeout": 0.05}})
    study = create_study("s", storage=storage, space=SPACE, seed=0)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StorageError, match=r"stayed locked for more than 1 s"):
        study.ask()
    threading.Timer(0.1, holder.execute, args=("COMMIT",)).start()
    trial = study.ask()  # retried until the lock went away
    study.tell(trial, 1.0)
    holder.close()
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]
