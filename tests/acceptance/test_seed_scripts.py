"""The seed README's Python blocks, written as plain scripts and run as ``python block.py``.

Users paste the blocks into a file without an ``if __name__ == "__main__":`` guard and run
it; PyTorch / TensorFlow trials with ``parallel_trials=2`` must then run in worker
processes that never import that file. The blocks below are the README's, verbatim (a
test checks them against the README when it is at hand); each script applies only the
edits listed beside it: fewer trials, one epoch, two workers, and MNIST's offline
stand-in ``mnist_t10k`` (the real MNIST test split, read from the shared data folder).

Also here: a worker killed with SIGKILL in the middle of a trial fails that trial alone,
with the reason, and the search goes on and ends (the caller never hangs on it).
"""

from __future__ import annotations

import ast
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.acceptance.conftest import SHARED, assert_ok, run, user_env

SEED_README = SHARED / "seed" / "hpo_README.md"
DATA = SHARED / "data"

BASIC = '''\
from neural.hpo.hpo import optimize_and_return

# Neural DSL code
neural_code = """
network MNIST {
  input: (28, 28, 1)
  layers:
    Conv2D(32, kernel_size=3, activation="relu")
    MaxPooling2D(pool_size=2)
    Flatten()
    Dense(128, activation="relu")
    Output(10, activation="softmax")

  optimizer: Adam(learning_rate=0.001)
  batch_size: 64
}
"""

# Define the hyperparameter search space
search_space = {
    "learning_rate": {"type": "float", "min": 0.0001, "max": 0.01, "log": True},
    "batch_size": {"type": "categorical", "values": [32, 64, 128, 256]},
    "dropout_rate": {"type": "float", "min": 0.1, "max": 0.5}
}

# Run hyperparameter optimization
best_params = optimize_and_return(
    neural_code,
    n_trials=50,
    dataset_name="MNIST",
    backend="tensorflow",
    search_space=search_space
)

print("Best hyperparameters:", best_params)
'''

ADVANCED = '''\
from neural.hpo.hpo import HPOptimizer
from neural.hpo.strategies import BayesianStrategy

# Create an HPO optimizer with custom configuration
optimizer = HPOptimizer(
    strategy=BayesianStrategy(),
    n_trials=100,
    timeout=3600,  # 1 hour timeout
    early_stopping=True,
    parallel_trials=4,
    storage="sqlite:///hpo_results.db"
)

# Run optimization
best_params = optimizer.optimize(
    neural_code,
    dataset_name="MNIST",
    backend="tensorflow",
    search_space=search_space,
    metric="val_accuracy",
    direction="maximize"
)
'''

CODEGEN = '''\
from neural.code_generation.code_generator import generate_optimized_dsl

# Generate optimized DSL code with the best hyperparameters
optimized_dsl = generate_optimized_dsl(neural_code, best_params)

# Generate executable code with the optimized hyperparameters
from neural.code_generation.code_generator import generate_code
from neural.parser.parser import create_parser, ModelTransformer

parser = create_parser()
tree = parser.parse(optimized_dsl)
model_data = ModelTransformer().transform(tree)
optimized_code = generate_code(model_data, backend="tensorflow")
'''

VISUALIZATION = '''\
from neural.hpo.visualization import plot_optimization_history, plot_param_importance

# Plot optimization history
plot_optimization_history(optimizer.trials, metric="val_accuracy")

# Plot parameter importance
plot_param_importance(optimizer.trials)
'''

#: the definitions of the basic block the other blocks use (neural_code, search_space)
DEFINITIONS = BASIC[BASIC.index("# Neural DSL code"):BASIC.index("# Run hyperparameter")]

#: lines a test adds after the blocks, to leave what it checks in files
SAVE_CODE = '''
# --- added by the test: what it checks ---
open("optimized.neural", "w").write(optimized_dsl)
open("optimized.py", "w").write(optimized_code)
'''
SAVE_FIGURES = '''
# --- added by the test: what it checks ---
import matplotlib.pyplot as plt
for n, num in enumerate(plt.get_fignums()):
    plt.figure(num).savefig(f"figure{n}.png")
print("trial states:", sorted(t["state"] for t in optimizer.trials))
'''
MARKER = 'print("the script starts")  # added by the test: printed once, by the script alone\n'

#: TensorFlow's C++ start-up lines, which must not reach the user
TF_NOISE = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard",
            "This TensorFlow binary is optimized")


def edit(block: str, *changes: tuple[str, str]) -> str:
    """``block`` with each ``(old, new)`` applied once (each ``old`` must be there)."""
    for old, new in changes:
        assert block.count(old) == 1, (old, block)
        block = block.replace(old, new)
    return block


def small_advanced(backend: str) -> str:
    return edit(ADVANCED, ("n_trials=100", "n_trials=4"),
                ("parallel_trials=4", "parallel_trials=2"),
                ('storage="sqlite:///hpo_results.db"\n', 'storage="sqlite:///hpo_results.db",\n'
                                                         '    epochs=1,\n'),
                ('dataset_name="MNIST"', 'dataset_name="mnist_t10k"'),
                ('backend="tensorflow"', f'backend="{backend}"'))


SMALL_BASIC = edit(BASIC, ("n_trials=50", "n_trials=2"),
                   ('dataset_name="MNIST"', 'dataset_name="mnist_t10k"'),
                   ("search_space=search_space\n)", "search_space=search_space,\n"
                                                    "    epochs=1,\n    population=2,\n)"))


def data_env() -> dict[str, str]:
    if not (DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the MNIST test split is not in {DATA / 'mnist'}")
    return user_env(NEURAL_DATA_DIR=str(DATA), NEURAL_DATA_OFFLINE="1")


def run_script(cwd: pathlib.Path, text: str, timeout: float = 300):
    (cwd / "block.py").write_text(text)
    return run(["python", "block.py"], cwd, env=data_env(), timeout=timeout)


def test_the_blocks_here_are_the_seed_readmes():
    if not SEED_README.exists():
        pytest.skip(f"{SEED_README} is not here")
    blocks = re.findall(r"```python\n(.*?)```", SEED_README.read_text(), flags=re.S)
    assert blocks == [BASIC, ADVANCED, CODEGEN, VISUALIZATION]


def test_basic_and_code_generation_blocks_with_tensorflow(tmp_path):
    """The basic block as written (TensorFlow, in this process), then the code generation
    block on its result; TensorFlow's C++ start-up lines stay out of the output."""
    res = assert_ok(run_script(tmp_path, SMALL_BASIC + "\n" + CODEGEN + SAVE_CODE))
    best = re.search(r"Best hyperparameters: (\{.*\})", res.out)
    assert best, res
    params = ast.literal_eval(best.group(1))
    assert set(params) == {"optimizer.learning_rate", "train.batch_size"}
    assert 1e-4 <= params["optimizer.learning_rate"] <= 1e-2
    assert params["train.batch_size"] in (32, 64, 128, 256)
    assert "dropout_rate" in res.err  # the key that binds to nothing is named, once
    assert not [n for n in TF_NOISE if n in res.text], res
    dsl = (tmp_path / "optimized.neural").read_text()
    assert f"batch_size: {params['train.batch_size']}" in dsl
    code = (tmp_path / "optimized.py").read_text()
    ast.parse(code)
    assert "keras" in code


@pytest.mark.parametrize("backend", ["pytorch", pytest.param("tensorflow",
                                                             marks=pytest.mark.slow)])
def test_advanced_and_visualization_blocks_with_two_workers(tmp_path, backend):
    """The advanced block with ``parallel_trials=2`` in a script without a ``__main__``
    guard: two worker processes train the trials, the script runs once, and the plots of
    the visualization block draw the finished study."""
    text = MARKER + DEFINITIONS + small_advanced(backend) + "\n" + VISUALIZATION + SAVE_FIGURES
    t0 = time.perf_counter()
    res = assert_ok(run_script(tmp_path, text))
    took = time.perf_counter() - t0
    assert res.out.count("the script starts") == 1, res
    assert "bootstrapping" not in res.text and "freeze_support" not in res.text, res
    assert not [n for n in TF_NOISE if n in res.text], res
    states = re.search(r"trial states: (\[.*\])", res.out)
    assert states and ast.literal_eval(states.group(1)).count("complete") >= 2, res
    assert (tmp_path / "hpo_results.db").stat().st_size > 0
    for n in (0, 1):
        assert (tmp_path / f"figure{n}.png").stat().st_size > 1000
    assert took < 300


KILLED = '''\
from neural_jax.hpo import HPOptimizer

CODE = """
network Killed {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(128, 256)), activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-3, 1e-2)))
  train { epochs: 30, batch_size: 16, validation_split: 0.2 }
}
"""


def on_round(index, records):
    print(f"round {index} done", flush=True)


optimizer = HPOptimizer(strategy="random", n_trials=6, population=2, parallel_trials=2,
                        seed=0, on_round=on_round)
optimizer.optimize(CODE, dataset_name="digits", backend="pytorch")
for t in optimizer.trials:
    print("trial", t["number"], t["state"], t.get("message", ""), flush=True)
'''


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _workers_of(pid: int) -> list[int]:
    """The worker processes (``python -m bridges.worker``) started by process ``pid``."""
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"bridges.worker" in cmd:
            found.append(int(stat.parent.name))
    return sorted(found)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_killed_mid_trial_fails_only_its_trial_and_the_search_goes_on(tmp_path):
    (tmp_path / "run_search.py").write_text(KILLED)
    proc = subprocess.Popen([sys.executable, "run_search.py"], cwd=tmp_path, env=user_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    killed = None
    try:
        for line in proc.stdout:  # round 0 ends: the warm workers start round 1 at once
            if line.startswith("round 0 done"):
                workers = _workers_of(proc.pid)
                assert len(workers) == 2, workers
                killed = workers[0]
                start = _cpu_seconds(killed)
                while _cpu_seconds(killed) < start + 0.3:  # well into its round-1 trial
                    time.sleep(0.02)
                os.kill(killed, signal.SIGKILL)
                break
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed is not None and proc.returncode == 0, err
    assert "Traceback" not in out + err, err
    trials = [ln.split(" ", 3) for ln in out.splitlines() if ln.startswith("trial ")]
    states = [t[2] for t in trials]
    assert len(trials) == 6 and states.count("failed") == 1, out
    failed = trials[states.index("failed")]
    assert int(failed[1]) in (2, 3), out  # a trial of round 1
    assert "worker process running this trial died: killed by SIGKILL" in failed[3]
    assert "round 2 done" in out and states[4:] == ["complete", "complete"], out
    assert killed not in _workers_of(proc.pid)
