"""generate_code: its API, errors, configuration, and the scripts' structure.

Every example network is generated for every backend and compiled; running the scripts is
in test_codegen_train.py and the per-layer conformance in test_codegen_layers.py.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import warnings

import pytest

from bridges.codegen import BACKENDS, generate_code
from bridges.errors import BackendError
from neural_jax import NeuralSyntaxError, parse, parse_all
from neural_jax.core.errors import NeuralWarning

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.neural"))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", NeuralWarning)  # spec_example sets batch_size twice
    NETWORKS = [(path.name, net.name) for path in EXAMPLES
                for net in parse_all(path.read_text())]
FRAMEWORK_IMPORTS = {"tensorflow": "keras", "pytorch": "torch", "jax": "jax"}

MLP = """
network Tiny {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(32, 64, 128)), activation=HPO(choice("relu", "tanh")))
    Dropout(HPO(range(0.0, 0.4)))
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-4, 1e-2)))
  train { epochs: 2, batch_size: 16 }
}
"""


def _network(file: str, name: str):
    text = (ROOT / "examples" / file).read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeuralWarning)
        return next(n for n in parse_all(text) if n.name == name)


def _generate(*args, **kwargs) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeuralWarning)
        return generate_code(*args, **kwargs)


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("file,name", NETWORKS)
def test_every_example_compiles_and_is_standalone(file, name, backend):
    code = _generate(_network(file, name), backend)
    compile(code, f"{name}_{backend}.py", "exec")
    imports = {m.group(1).split(".")[0] for m in
               re.finditer(r"^(?:import|from) ([\w.]+)", code, re.MULTILINE)}
    allowed = {"argparse", "os", "math", "functools", "collections", "numpy",
               FRAMEWORK_IMPORTS[backend], "flax", "optax"}
    assert imports <= allowed, imports - allowed
    assert "neural_jax" not in code
    assert max(len(line) for line in code.splitlines()) <= 99
    assert code.startswith(f"# {name}: a ")
    for part in ("def load_data(", "def build_model(", "def train(", "def main(",
                 'if __name__ == "__main__":'):
        assert part in code


def test_header_names_network_backend_and_configuration():
    code = generate_code(MLP, "torch", {"layers[1].units": 128})
    head = code.split("\n\n")[0]
    assert "Tiny" in head and "Backend: pytorch" in head
    assert "#   layers[1].units = 128" in head
    # values not given take the single-run defaults: first option, middle of a range
    assert '#   layers[1].activation = "relu"' in head
    assert "#   layers[2].rate = 0.2" in head


@pytest.mark.parametrize("backend,expected", [
    ("tensorflow", "layers.Dense(128, activation=\"tanh\""),
    ("pytorch", "nn.Linear(64, 128)"),
    ("jax", "Dense(128, name=\"dense_1\")"),
])
def test_config_is_honored(backend, expected):
    config = {"layers[1].units": 128, "layers[1].activation": "tanh", "layers[2].rate": 0.35,
              "optimizer.learning_rate": 0.0042}
    code = generate_code(MLP, backend, config)
    assert expected in code
    assert "0.35" in code and "0.0042" in code
    if backend != "tensorflow":
        assert "tanh" in code
    default = generate_code(MLP, backend)
    assert expected not in default and "0.0042" not in default


def test_backend_aliases_and_bad_backend():
    net = parse(MLP)
    assert generate_code(net, "keras") == generate_code(net, "tf") == generate_code(net)
    assert generate_code(net, "torch") == generate_code(net, "PyTorch")
    assert generate_code(net, "flax") == generate_code(net, "jax")
    with pytest.raises(BackendError) as info:
        generate_code(net, "mxnet")
    message = str(info.value)
    assert "'mxnet'" in message
    for name in ("tensorflow", "pytorch", "jax"):
        assert name in message


def test_syntax_error_is_the_parsers():
    with pytest.raises(NeuralSyntaxError) as info:
        generate_code("network Broken {\n  input: (8,)\n  layers:\n    Dense(4\n}", "torch")
    assert info.value.line > 0


def test_unknown_config_key_warns_and_is_ignored():
    with pytest.warns(NeuralWarning, match="layers.9..units"):
        code = generate_code(MLP, "jax", {"layers[9].units": 7})
    assert code == generate_code(MLP, "jax")


def test_config_keys_a_search_space_dict_reports_are_honored():
    # aliases and paths without an HPO expression, as a search with a search_space dict
    # reports its best parameters
    config = {"dropout_rate": 0.45, "batch_size": 24, "optimizer.beta_1": 0.8}
    code = generate_code(MLP, "pytorch", config)
    assert "nn.Dropout(0.45)" in code and "BATCH_SIZE = 24" in code
    assert "betas=(0.8, 0.999)" in code


def test_a_layer_a_backend_cannot_express_is_a_clear_error():
    net = parse("network T { input: (16, 16, 3) layers: "
                "Conv2D(4, 3, strides=2, dilation_rate=2) }")
    with pytest.raises(BackendError, match=r"Conv2D at layers\[0\].*tensorflow"):
        generate_code(net, "tensorflow")
    generate_code(net, "jax")
    generate_code(net, "pytorch")
    unknown = parse("network T { input: (None, None, 8) layers: Conv1D(4, 3, strides=2, "
                    "padding='same') GlobalMaxPooling1D() }")
    with pytest.raises(BackendError, match=r"Conv1D at layers\[0\].*pytorch"):
        generate_code(unknown, "pytorch")


def test_final_softmax_is_logits_with_a_from_logits_loss():
    code = generate_code(MLP, "tensorflow")
    assert "SparseCategoricalCrossentropy(from_logits=True)" in code
    assert 'layers.Dense(10, name="output_3")' in code
    # with a loss that is not a cross-entropy the model applies the softmax itself
    mse = generate_code(MLP.replace("train {", 'loss: "mse"\n  train {'), "pytorch")
    assert "x = torch.softmax(x, dim=-1)" in mse and "F.mse_loss" in mse


def test_importing_bridges_imports_no_framework():
    code = ("import sys, bridges, bridges.codegen; "
            "print(sorted(m for m in ('jax', 'torch', 'tensorflow', 'keras', 'flax') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"
    from bridges import generate_code as exported

    assert exported is generate_code


def test_seed_compatible_generate_code():
    from neural.code_generation.code_generator import generate_code as seed_generate
    from neural.parser.parser import ModelTransformer, create_parser

    text = (ROOT / "examples" / "mnist_cnn.neural").read_text()
    tree = create_parser().parse(text)
    model_data = ModelTransformer().transform(tree)
    expected = generate_code(parse(text), "tensorflow")
    assert seed_generate(model_data) == expected
    assert seed_generate(text) == expected
    assert seed_generate(tree, "pytorch") == generate_code(parse(text), "pytorch")
    assert "Configuration" in seed_generate(model_data, backend="jax")
    with pytest.raises(TypeError, match="DSL text"):
        seed_generate({"layers": []})
