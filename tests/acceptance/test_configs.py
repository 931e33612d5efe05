"""Every config with the command in its own docstring, from a fresh directory.

Each test copies ``configs/`` and ``examples/`` into a temporary directory (a user's
checkout), runs the docstring's command with small overrides, and checks what it printed
and wrote. Bad configs (an unknown override, a missing data directory, a bad value) end
with one line naming the problem, never a traceback.
"""

from __future__ import annotations

import importlib
import json
import shlex
import shutil

import numpy as np
import pytest

from tests.acceptance.conftest import CONFIGS, EXAMPLES, SHARED, assert_ok, assert_user_error, run

NAMES = sorted(p.stem for p in CONFIGS.glob("*.py") if not p.stem.startswith("_"))
TINY = ["--config.search.n_trials=2", "--config.search.population=2", "--config.search.epochs=1"]


@pytest.fixture
def checkout(tmp_path):
    shutil.copytree(CONFIGS, tmp_path / "configs")
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    return tmp_path


def docstring_command(name: str) -> list[str]:
    """The first line of the config's docstring, as argv (placeholders left as they are)."""
    doc = importlib.import_module(f"configs.{name}").__doc__
    argv = shlex.split(doc.strip().splitlines()[0])
    assert argv[:3] == ["python", "-m", "experiments.hpo"] or argv[:3] == ["python", "-m",
                                                                          "experiments.train"]
    return argv


def test_every_config_has_a_command():
    assert NAMES == ["cifar10_resnet", "digits_mlp", "mnist_cnn", "transformer_tokens"]
    for name in NAMES:
        assert any(a == f"--config=configs/{name}.py" for a in docstring_command(name))


def test_digits_mlp(checkout):
    argv = docstring_command("digits_mlp") + TINY + [f"--config.output_dir={checkout / 'out'}"]
    res = assert_ok(run(argv, checkout))
    assert "best value" in res.out
    rec = json.loads((checkout / "out" / "best.json").read_text())
    assert rec["trials"] == 2 and 0.2 < rec["best_value"] <= 1.0


needs_mnist = pytest.mark.skipif(not (SHARED / "data" / "mnist").is_dir(),
                                 reason="the shared MNIST files are not beside this checkout")


@needs_mnist
def test_mnist_cnn_on_the_real_test_split(checkout):
    """The docstring's ``--config.data_dir`` pointed at the real MNIST files; only the test
    split is on this machine, so ``mnist_t10k`` (its 8k/2k division) stands in for it."""
    mnist = SHARED / "data" / "mnist"
    argv = [a if not a.startswith("--config.data_dir=") else f"--config.data_dir={mnist}"
            for a in docstring_command("mnist_cnn")]
    argv += TINY + ["--config.dataset=mnist_t10k", "--config.search.strategy=random",
                    f"--config.output_dir={checkout / 'out'}"]
    res = assert_ok(run(argv, checkout, timeout=600))
    rec = json.loads((checkout / "out" / "best.json").read_text())
    assert rec["trials"] == 2 and rec["best_value"] > 0.5  # a real CNN on real digits
    assert set(rec["best_params"]) >= {"optimizer.learning_rate", "train.batch_size"}, res


@needs_mnist
def test_mnist_without_its_train_files_says_which(checkout):
    mnist = SHARED / "data" / "mnist"
    argv = [a if not a.startswith("--config.data_dir=") else f"--config.data_dir={mnist}"
            for a in docstring_command("mnist_cnn")] + TINY
    assert_user_error(run(argv, checkout), "train-images-idx3-ubyte")


@pytest.mark.slow  # the ResNet's XLA:CPU compile alone takes minutes on 2 cores
def test_cifar10_resnet_from_an_npz(checkout):
    """The loader's ``cifar10.npz`` form, with a few real-shaped images (no CIFAR here)."""
    rng = np.random.default_rng(0)
    data = checkout / "cifar"
    data.mkdir()
    np.savez(data / "cifar10.npz",
             x_train=rng.integers(0, 256, (300, 32, 32, 3), dtype=np.uint8),
             y_train=np.arange(300) % 10,
             x_test=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8),
             y_test=np.arange(20) % 10)
    argv = [a if not a.startswith("--config.data_dir=") else f"--config.data_dir={data}"
            for a in docstring_command("cifar10_resnet")] + TINY + [
        "--config.search.early_stopping=False", f"--config.output_dir={checkout / 'out'}"]
    assert_ok(run(argv, checkout, timeout=600))
    assert json.loads((checkout / "out" / "best.json").read_text())["trials"] == 2


def test_cifar10_without_data_names_the_files(checkout):
    nothing = checkout / "nothing"
    argv = [a if not a.startswith("--config.data_dir=") else f"--config.data_dir={nothing}"
            for a in docstring_command("cifar10_resnet")] + TINY
    assert_user_error(run(argv, checkout), "cifar")


def test_transformer_tokens_uses_its_dataset_options(checkout):
    argv = docstring_command("transformer_tokens") + TINY + [
        "--config.dataset_options.n_train=128", "--config.dataset_options.n_test=32",
        f"--config.output_dir={checkout / 'out'}"]
    res = run(argv, checkout, timeout=600)
    assert_ok(res)
    assert json.loads((checkout / "out" / "best.json").read_text())["trials"] == 2


def test_train_launcher(checkout):
    res = assert_ok(run(["python", "-m", "experiments.train", "--config=configs/digits_mlp.py",
                         "--config.search.epochs=1"], checkout))
    assert "validation {" in res.out


@pytest.mark.parametrize("override,words", [
    (["--config.search.n_trails=2"], ["n_trails"]),
    (["--config.search.strategy=tpee"], ["tpee", "tpe"]),
    (["--config.search.n_trials=0"], ["n_trials"]),
    (["--config.dataset=nosuch"], ["nosuch", "digits"]),
    (["--config.network=examples/missing.neural"], ["missing.neural"]),
    (["--config.search.n_trials=abc"], ["n_trials", "abc"]),
    (["--config.search.population=-1"], ["population"]),
    (["--config.search.metric=val_acc"], ["val_acc", "val_accuracy"]),
    (["--config=configs/nope.py"], ["configs/nope.py"]),
])
def test_bad_configs_are_one_line_errors(checkout, override, words):
    res = run(docstring_command("digits_mlp") + TINY + override, checkout)
    assert_user_error(res, *words)
    assert len(res.err.strip().splitlines()) <= 6, res
