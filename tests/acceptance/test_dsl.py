"""The DSL and its configurations, as users run them: `neural check / run / hpo / compile`.

Layer-choice labels work in every path; bad files fail in `neural check` with line, column
and a hint, before any training; bad `--params` fail before the data is loaded.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from tests.acceptance.conftest import assert_ok, assert_user_error, run


def _choices(workdir: pathlib.Path) -> pathlib.Path:
    """examples/layer_choice.neural sized for the bundled digits (64 values) and 1-2 epochs."""
    text = (workdir / "examples" / "layer_choice.neural").read_text()
    text = text.replace("input: (784,)", "input: (64,)").replace(
        "epochs: HPO(range(5, 20))", "epochs: HPO(range(1, 2))")
    path = workdir / "choices.neural"
    path.write_text(text)
    return path


def test_check_prints_the_labels_that_run_accepts(workdir):
    res = assert_ok(run(["neural", "check", "examples/layer_choice.neural"], workdir))
    assert "layers[1]                          categorical  {'Dense', 'Dropout'}" in res.out
    assert "choice(Dense|Dropout)" in res.out


def test_run_with_a_layer_label(workdir):
    f = _choices(workdir)
    res = assert_ok(run(["neural", "run", f.name, "--dataset", "digits", "--epochs", "1",
                         "--params", '{"layers[1]": "Dropout", "optimizer": "SGD"}',
                         "--out", "run1"], workdir))
    assert "training Choices on digits: 1 epoch," in res.out and ", SGD," in res.out
    metrics = json.loads((workdir / "run1" / "metrics.json").read_text())
    assert 0.3 < metrics["val"]["accuracy"] <= 1.0, metrics


def test_run_shows_fixed_choices_as_labels(workdir):
    f = _choices(workdir)
    res = assert_ok(run(["neural", "run", f.name, "--dataset", "digits", "--epochs", "1",
                         "--out", "run2"], workdir))
    assert "layers[1]='Dense'" in res.out and "optimizer='Adam'" in res.out


@pytest.mark.parametrize("params, words", [
    ('{"layers[2]": "Dropout"}', ["'layers[2]' is not a searched parameter",
                                  "did you mean 'layers[1]'", "known keys: layers[1],"]),
    ('{"layers[1].choice[1].rate": 1.5}', ["1.5 is outside its domain", "[0.1, 0.5]"]),
    ('{"layers[1]": "Conv2D"}', ["'conv2d' is not an option of 'layers[1]'", "'dense', 'dropout'"]),
    ('{"train.epochs": "ten"}', ["'train.epochs' takes a number", "[1, 2]"]),
])
def test_bad_params_fail_before_any_work(workdir, params, words):
    f = _choices(workdir)
    res = assert_user_error(run(["neural", "run", f.name, "--dataset", "digits",
                                 "--params", params, "--out", "bad"], workdir, timeout=60),
                            "--params", *words, rc=1)
    assert "training" not in res.out and not (workdir / "bad").exists()


def test_hpo_searches_layer_choices_and_writes_them_back(workdir):
    f = _choices(workdir)
    res = assert_ok(run(["neural", "hpo", f.name, "--dataset", "digits", "--n-trials", "4",
                         "--population", "4", "--no-live", "-o", "best"], workdir))
    assert re.search(r"layers\[1\]='(Dense|Dropout)'", res.out), res.out
    best = (workdir / "best" / "best.neural").read_text()
    assert "HPO(" not in best and ("Dense(" in best.split("layers:")[1])
    assert_ok(run(["neural", "check", "best/best.neural"], workdir))


def test_compile_pytorch_script_with_a_layer_choice(workdir):
    f = _choices(workdir)
    assert_ok(run(["neural", "compile", f.name, "--backend", "pytorch", "-o", "x.py"], workdir))
    script = (workdir / "x.py").read_text()
    assert "import torch" in script
    compile(script, "x.py", "exec")
    assert_ok(run(["neural", "compile", f.name, "--backend", "pytorch", "-o", "d.py",
                   "--params", '{"layers[1]": "Dropout"}'], workdir))
    assert "Dropout" in (workdir / "d.py").read_text()


def test_run_in_pytorch_with_a_layer_label(workdir):
    pytest.importorskip("torch")
    f = _choices(workdir)
    res = assert_ok(run(["neural", "run", f.name, "--dataset", "digits", "--epochs", "1",
                         "--backend", "pytorch", "--params", '{"layers[1]": "Dropout"}',
                         "--out", "pt"], workdir))
    assert "in pytorch" in res.out and (workdir / "pt" / "model.pt").exists()


# --- bad files: `neural check` says where and why, with no traceback -------------------

def _net(layers: str, inp: str = "(784,)", extra: str = "") -> str:
    body = "\n".join("    " + x for x in layers.split("\n"))
    return f"network Bad {{\n  input: {inp}\n  layers:\n{body}\n{extra}}}\n"


def _deep(n: int) -> str:
    return ("network Deep {\n  input: (16,)\n  layers:\n" + "    ResidualConnection() {\n" * n
            + "Dense(16)\n" + "}\n" * n + "    Output(10)\n}\n")


def _exponential(k: int) -> str:
    defs = "define M0() {\n  Dense(4)\n  Dense(4)\n}\n" + "".join(
        f"define M{i}() {{\n  M{i - 1}()\n  M{i - 1}()\n}}\n" for i in range(1, k))
    return defs + f"network Big {{\n  input: (8,)\n  layers:\n    M{k - 1}()\n    Output(10)\n}}\n"


BAD_FILES = [
    ("dense_10e30", _net("Dense(" + "1" + "0" * 30 + ")\nOutput(10)"), "line 4, column 11",
     ["units must be at most 2147483647"]),
    ("dense_2_31", _net("Dense(2147483648)\nOutput(10)"), "line 4, column 11",
     ["units must be at most 2147483647"]),
    ("depthwise_kernel", _net("DepthwiseConv2D(kernel_size=" + "1" + "0" * 30 + ")\nFlatten()\n"
                              "Output(10)", "(28, 28, 1)"), "line 4, column 33",
     ["kernel_size must be at most"]),
    ("transpose_10gb", _net("Conv2DTranspose(4, 3, strides=1000)\nFlatten()\nOutput(10)",
                            "(28, 28, 1)"), "line 4, column 5",
     ["(None, 28000, 28000, 4)", "GB per example", "more than"]),
    ("epsilon_40_digits", _net("BatchNormalization(epsilon=1" + "0" * 39 + ")\nOutput(10)"),
     "line 4, column 32", ["float32 range", "40-digit"]),
    ("int_5000_digits", _net("Dense(" + "9" * 5000 + ")\nOutput(10)"), "line 4, column 11",
     ["5000 digits"]),
    ("residual_2000_deep", _deep(2000), "line 67, column 23", ["nest more than 64 deep"]),
    ("cr_line_ends", _net("Flatten()\nDense(-1)\nOutput(10)").replace("\n", "\r"),
     "line 5, column 11", ["units must be in"]),
    ("search_method_searched", _net("Dense(HPO(choice(8, 16)))\nOutput(10)",
                                    extra='  train { search_method: HPO(choice("random", '
                                    '"tpe")) }\n'), "line 6, column 26",
     ["search_method cannot be searched"]),
    ("macro_exponential", _exponential(40), "line 164, column 5",
     ["1,099,511,627,776 layers", "at most 100,000"]),
]


@pytest.mark.parametrize("text, where, words", [c[1:] for c in BAD_FILES],
                         ids=[c[0] for c in BAD_FILES])
def test_check_refuses_what_no_backend_can_build(workdir, text, where, words):
    path = workdir / "bad.neural"
    path.write_bytes(text.encode())
    res = assert_user_error(run(["neural", "check", "bad.neural"], workdir, timeout=60),
                            where, *words, rc=1)
    lines = res.err.strip().splitlines()
    assert len(lines) >= 3 and lines[2].rstrip().endswith("^"), res  # the caret line
    assert lines[-1].startswith("hint: "), res


@pytest.mark.parametrize("command", [["run", "--epochs", "1"],
                                     ["hpo", "--n-trials", "2", "--population", "2", "--no-live"]])
def test_mse_with_integer_labels_fails_before_training(workdir, command):
    (workdir / "mse.neural").write_text(_net("Dense(HPO(choice(16, 32)))\nOutput(10)",
                                             "(64,)", '  loss: "mse"\n'))
    res = assert_user_error(run(["neural", command[0], "mse.neural", "--dataset", "digits",
                                 *command[1:]], workdir, timeout=120),
                            "line 6, column 9", "mse compares each of the 10 outputs",
                            "sparse_categorical_crossentropy", rc=1)
    assert "epoch 1" not in res.out


def test_input_none_none_round_trips(workdir):
    (workdir / "n.neural").write_text(_net("Dense(3)", "(None, None)"))
    code = ("from neural_jax import parse\nfrom neural_jax.ir.printer import to_dsl\n"
            "n = parse(open('n.neural').read())\nassert parse(to_dsl(n)) == n\n"
            "print(to_dsl(n).splitlines()[1])\n")
    res = assert_ok(run(["python", "-c", code], workdir, timeout=60))
    assert "input: (None, None)" in res.out


# Schedules the trainer ran while `neural check` rejected them: now one declaration serves both.
DRIFTED = {
    "InverseTimeDecay": "InverseTimeDecay(initial_learning_rate=0.1, decay_steps=20, "
                        "decay_rate=0.5)",
    "CosineDecay-warmup_steps": "CosineDecay(0.0, 40, warmup_target=0.1, warmup_steps=10)",
    "StepDecay-initial_learning_rate": "StepDecay(initial_learning_rate=0.1, step_size=20)",
}


@pytest.mark.parametrize("case", sorted(DRIFTED))
def test_a_schedule_the_trainer_runs_passes_check_and_trains(workdir, case):
    f = workdir / "sched.neural"
    f.write_text("network Sched {\n  input: (64,)\n  layers:\n    Dense(32, activation=\"relu\")\n"
                 "    Output(10, activation=\"softmax\")\n"
                 f"  optimizer: SGD(learning_rate={DRIFTED[case]}, momentum=0.9)\n"
                 "  train { epochs: 2, batch_size: 32 }\n}\n")
    assert_ok(run(["neural", "check", f.name], workdir))
    assert_ok(run(["neural", "run", f.name, "--dataset", "digits", "--out", "out"], workdir))
    metrics = json.loads((workdir / "out" / "metrics.json").read_text())
    assert 0.5 < metrics["val"]["accuracy"] <= 1.0, metrics
