"""Generated scripts train: every example network in every backend, on the scripts' own data.

Each script's text is executed as a fresh module (its ``__name__`` is not ``"__main__"``)
and ``main(epochs=3, n_train=48, batch_size=16)`` trains on the random data its
``load_data()`` makes: the training loss must fall (all 41 network x backend cases, about
2.5 minutes on 2 cores). One real ``python script.py --epochs 1`` per backend checks the
command line and the printed epoch lines.

TextTransformer's schedule warms up for 500 steps, far longer than these 9-step runs (the
rate would stay near zero), so its test replaces that by 5 steps in the DSL text.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import pathlib
import re
import subprocess
import sys
import types
import warnings

import pytest

from bridges.codegen import generate_code
from neural_jax import parse_all
from neural_jax.core.errors import NeuralWarning

ROOT = pathlib.Path(__file__).resolve().parents[2]
_COUNT = itertools.count()


def _networks() -> list[tuple[str, object]]:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeuralWarning)
        for path in sorted((ROOT / "examples").glob("*.neural")):
            text = path.read_text().replace("warmup_steps=500", "warmup_steps=5")
            for net in parse_all(text):
                out.append((f"{net.name}@{path.name}", net))
    return out


NETWORKS = _networks()


def _cases():
    for key, net in NETWORKS:
        for backend in ("tensorflow", "pytorch", "jax"):
            yield pytest.param(net, backend, id=f"{key}-{backend}")


def run_main(net, backend: str, **kwargs) -> tuple[list[float], str]:
    """Executes the generated script as a fresh module and calls its ``main(**kwargs)``.

    Returns:
      The epoch losses ``main`` returned and what it printed.
    """
    code = generate_code(net, backend)
    module = types.ModuleType(f"generated_{backend}_{next(_COUNT)}")
    sys.modules[module.__name__] = module  # flax resolves dataclass annotations through it
    try:
        exec(compile(code, f"<{module.__name__}>", "exec"), module.__dict__)  # noqa: S102
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            losses = module.main(**kwargs)
    finally:
        del sys.modules[module.__name__]
    return losses, out.getvalue()


@pytest.mark.parametrize("net,backend", list(_cases()))
def test_generated_script_trains(net, backend):
    losses, printed = run_main(net, backend, epochs=3, n_train=48, batch_size=16)
    assert 1 <= len(losses) <= 3 and all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0], losses
    lines = [ln for ln in printed.splitlines() if ln.startswith("epoch ")]
    assert len(lines) == len(losses)
    first = dict(zip(lines[0].split()[::2], lines[0].split()[1::2]))
    assert first["epoch"] == "1" and float(first["loss"]) == pytest.approx(losses[0], abs=1e-4)
    assert "val_loss" in first


EPOCH_LINE = re.compile(r"^epoch 1 loss \d+\.\d{4} val_loss \d+\.\d{4}( \w+ \d+\.\d{4})*$",
                        re.MULTILINE)


@pytest.mark.parametrize("backend", ["tensorflow", "pytorch", "jax"])
def test_script_runs_from_the_command_line(backend, tmp_path):
    net = next(n for key, n in NETWORKS if key.startswith("DigitsSearch@"))
    script = tmp_path / f"digits_{backend}.py"
    script.write_text(generate_code(net, backend))
    out = subprocess.run(
        [sys.executable, str(script), "--epochs", "1", "--n-train", "32", "--batch-size", "16"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert EPOCH_LINE.search(out.stdout), out.stdout
    assert "val_accuracy" in out.stdout


ES = """
network Frozen {
  input: (6,)
  layers:
    Dense(8, activation="relu")
    Output(3, activation="softmax")
  optimizer: SGD(learning_rate=1e-30)
  train { epochs: 6, batch_size: 16, early_stopping { patience: 0, monitor: "val_loss" } }
}
"""


@pytest.mark.parametrize("backend", ["tensorflow", "pytorch", "jax"])
def test_early_stopping_follows_the_dsl_patience(backend):
    # A learning rate far below float32 resolution leaves the weights as they are, so
    # nothing improves after epoch 1 and patience 0 stops after epoch 2.
    (net,) = parse_all(ES)
    losses, printed = run_main(net, backend, n_train=32)
    assert len(losses) == 2, printed
