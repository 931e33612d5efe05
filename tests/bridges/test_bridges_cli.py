"""`neural run --backend`, `neural export` and `neural compile` end to end."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from neural_jax.cli import main

EX = pathlib.Path(__file__).resolve().parents[2] / "examples"

SMALL = """network Small {
  input: (8, 8, 1)
  layers:
    Conv2D(4, kernel_size=3, padding="same", activation="relu")
    BatchNormalization()
    Flatten()
    Dense(HPO(choice(16, 24)), activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=0.01)
  train { epochs: 2, batch_size: 64, validation_split: 0.2 }
}
"""


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    """A `neural run` folder of a small CNN trained 1 epoch on digits."""
    folder = tmp_path_factory.mktemp("run")
    src = folder / "small.neural"
    src.write_text(SMALL)
    assert main(["run", str(src), "--epochs", "1", "--params", '{"layers[3].units": 24}',
                 "--out", str(folder / "out")]) == 0
    return folder / "out"


def _jax_outputs(run: pathlib.Path, x: np.ndarray) -> np.ndarray:
    from bridges.cli import _load_run
    from neural_jax.jax import build_model

    net, config, variables = _load_run(run)
    y, _ = build_model(net, config).apply(variables, x)
    return np.asarray(y)


def test_export_pytorch_state_dict_reproduces_the_trained_model(jax_run, capsys):
    torch = pytest.importorskip("torch")
    from bridges.cli import _load_run
    from bridges.torch import build_module, load_state_dict

    out = jax_run / "bridge.pt"
    assert main(["export", str(jax_run), "--backend", "pytorch", "--layout", "bridge",
                 "-o", str(out)]) == 0
    assert "bridge.pt" in capsys.readouterr().out
    net, config, _ = _load_run(jax_run)
    assert config["layers[3].units"] == 24
    module = build_module(net, config)
    load_state_dict(module, out)
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype(np.float32)
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, _jax_outputs(jax_run, x), rtol=1e-5, atol=1e-5)


def test_export_rejects_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--backend", "pytorch"]) == 1
    assert "network.neural" in capsys.readouterr().err


def test_run_in_pytorch(tmp_path, capsys):
    pytest.importorskip("torch")
    src = tmp_path / "small.neural"
    src.write_text(SMALL)
    assert main(["run", str(src), "--backend", "pytorch", "--epochs", "2",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "epoch   2/2" in out and "val_accuracy" in out
    rec = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert rec["backend"] == "pytorch" and rec["val"]["accuracy"] > 0.5
    assert (tmp_path / "out" / "model.pt").exists()


def test_export_pytorch_loads_into_the_generated_script(jax_run, capsys):
    torch = pytest.importorskip("torch")
    from bridges.cli import _load_run
    from bridges.codegen.weights import script_namespace

    assert main(["export", str(jax_run), "--backend", "pytorch"]) == 0
    assert "--weights" in capsys.readouterr().out
    net, config, _ = _load_run(jax_run)
    model = script_namespace(net, "pytorch", config).build_model()
    model.load_state_dict(torch.load(jax_run / "model.pt"))  # the script's own names
    model.eval()
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype(np.float32)
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, _jax_outputs(jax_run, x), rtol=1e-5, atol=1e-5)


def test_export_keras_weights_reproduce_the_trained_model(jax_run, capsys):
    pytest.importorskip("tensorflow")
    from bridges.cli import _load_run
    from bridges.tensorflow import build_model, load_weights

    out = jax_run / "exported.weights.h5"
    assert main(["export", str(jax_run), "--backend", "tensorflow", "-o", str(out)]) == 0
    net, config, _ = _load_run(jax_run)
    model = build_model(net, config)
    load_weights(model, out)
    x = np.random.default_rng(1).normal(size=(5, 8, 8, 1)).astype(np.float32)
    got = np.asarray(model(x, training=False))
    np.testing.assert_allclose(got, _jax_outputs(jax_run, x), rtol=1e-5, atol=1e-5)


def test_run_in_tensorflow_saves_loadable_weights(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    src = tmp_path / "small.neural"
    src.write_text(SMALL)
    assert main(["run", str(src), "--backend", "tensorflow", "--epochs", "1",
                 "--out", str(tmp_path / "out")]) == 0
    rec = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert rec["backend"] == "tensorflow" and [h["epoch"] for h in rec["history"]] == [1]
    assert (tmp_path / "out" / "model.weights.h5").stat().st_size > 0


@pytest.mark.parametrize("backend", ["jax", "pytorch", "tensorflow"])
def test_compile_writes_a_script_that_honours_params(backend, tmp_path, capsys):
    out = tmp_path / "model.py"
    assert main(["compile", str(EX / "digits_search.neural"), "--backend", backend,
                 "--params", '{"layers[1].units": 128}', "-o", str(out)]) == 0
    code = out.read_text()
    compile(code, str(out), "exec")
    assert "128" in code and "neural_jax" not in code
    assert "def main(" in code and "def load_data(" in code


def test_compile_refuses_params_outside_the_space(tmp_path, capsys):
    assert main(["compile", str(EX / "digits_search.neural"), "--backend", "pytorch",
                 "--params", '{"layers[1].units": 96}', "-o", str(tmp_path / "m.py")]) == 1
    err = capsys.readouterr().err
    assert "--params: 96 is not an option of 'layers[1].units'" in err and "64, 128" in err
    assert not (tmp_path / "m.py").exists()


def test_compile_to_stdout(capsys):
    assert main(["compile", str(EX / "mnist_cnn.neural"), "--backend", "pytorch"]) == 0
    assert "import torch" in capsys.readouterr().out


def test_compile_with_hpo_writes_the_optimized_network_and_its_script(tmp_path, capsys):
    out = tmp_path / "best.py"
    assert main(["compile", str(EX / "digits_search.neural"), "--backend", "tensorflow", "--hpo",
                 "--n-trials", "2", "--population", "2", "--epochs", "1", "--strategy", "random",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    best = json.loads(printed.split("best val_accuracy", 1)[1].split(": ", 1)[1].splitlines()[0])
    optimized = (tmp_path / "best.neural").read_text()
    assert "HPO(" not in optimized
    from neural_jax import parse

    net = parse(optimized)
    assert net.layers[1].args["units"] == best["layers[1].units"]
    code = out.read_text()
    assert f"{best['layers[1].units']}" in code and "keras" in code


def test_export_of_a_corrupt_weights_file_is_a_clear_error(jax_run, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(jax_run, broken)
    (broken / "params.msgpack").write_bytes(b"not msgpack at all")
    assert main(["export", str(broken), "--backend", "pytorch"]) == 1
    err = capsys.readouterr().err
    assert "params.msgpack cannot be read as the weights of network 'Small'" in err
    assert "Traceback" not in err
