"""Every error a user can cause has one root, NeuralError, and the command line finds them by
class: every exception class of neural_jax and bridges derives from it."""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import pickle

import pytest
from import_graph import ROOT, module_name

from neural_jax.core.errors import (
    ArgumentError,
    MessageError,
    NeuralError,
    NeuralSyntaxError,
    NeuralValidationError,
    NeuralWarning,
)
from neural_jax.user_errors import user_message

#: exception classes of ours that a user never sees, each with the reason (none today)
INTERNAL: dict[str, str] = {}

_BUILTIN = {n for n in dir(builtins)
            if isinstance(getattr(builtins, n), type)
            and issubclass(getattr(builtins, n), BaseException)}


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) of every class under neural_jax/ and bridges/ whose bases make it an
    exception: a builtin exception, or (by name) another such class of ours."""
    classes = []
    for package in ("neural_jax", "bridges"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                             for b in node.bases}
                    classes.append((module_name(path), node.name, bases))
    known = set(_BUILTIN)
    grew = True
    while grew:  # a class is an exception when one of its bases is
        grew = False
        for _, name, bases in classes:
            if name not in known and bases & known:
                known.add(name)
                grew = True
    return [(mod, name) for mod, name, _ in classes if name in known]


def test_the_scan_finds_the_errors_of_every_package():
    found = {name for _, name in _exception_classes()}
    assert {"NeuralError", "ShapeError", "ConfigError", "BackendError", "TrainConfigError",
            "PopulationConfigError", "TrainingDiverged", "DatasetError", "UnknownBackend",
            "WeightMismatch", "NeuralWarning"} <= found


@pytest.mark.parametrize("module, name", _exception_classes())
def test_every_error_of_ours_is_a_neural_error(module, name):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, BaseException)
    if issubclass(cls, Warning):
        assert issubclass(cls, NeuralWarning), f"{module}.{name} is not a NeuralWarning"
    elif name not in INTERNAL:
        assert issubclass(cls, NeuralError), f"{module}.{name} is not a NeuralError"


def test_the_errors_that_were_builtin_ones_still_are():
    from neural_jax.data import DatasetError
    from neural_jax.ir.shapes import ShapeError
    from neural_jax.population import PopulationConfigError
    from neural_jax.population.trainer import TrainingDiverged
    from neural_jax.train import TrainConfigError

    for cls, builtin in ((DatasetError, ValueError), (TrainConfigError, ValueError),
                         (PopulationConfigError, ValueError), (TrainingDiverged, RuntimeError),
                         (ArgumentError, ValueError), (NeuralValidationError, ValueError),
                         (NeuralSyntaxError, SyntaxError)):
        assert issubclass(cls, builtin) and issubclass(cls, NeuralError), cls
    assert issubclass(ShapeError, MessageError)


def test_a_message_error_reads_as_its_message_and_shows_kind_and_hint():
    from neural_jax.ir.shapes import ShapeError

    err = ShapeError("Conv2D needs a rank-3 input, got (4,)", hint="add a Reshape first")
    assert str(err) == "Conv2D needs a rank-3 input, got (4,)"
    assert err.format() == ("error: Conv2D needs a rank-3 input, got (4,)\n"
                            "hint: add a Reshape first")
    dsl = NeuralValidationError("bad", line=2, column=3, source_line="  Dense(-1)", hint="h")
    assert str(dsl) == dsl.format() and dsl.format().splitlines()[0] == (
        "validation error: line 2, column 3: bad")


def test_errors_with_narrower_constructors_pickle():
    from neural_jax.data import DatasetError
    from neural_jax.ir.shapes import ShapeError
    from neural_jax.population.trainer import TrainingDiverged

    for err in (ShapeError("no fit", hint="reshape"), TrainingDiverged("loss is nan", epoch=3),
                DatasetError("no such dataset 'mnsit'"),
                NeuralSyntaxError("unexpected ')'", line=1, column=9, source_line="Dense(3))"),
                ArgumentError("n_trials must be a whole number >= 1, got 0")):
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err) and str(again) == str(err)
        assert again.format() == err.format() and again.args == err.args
    assert pickle.loads(pickle.dumps(TrainingDiverged("nan", epoch=3))).epoch == 3


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as e:  # noqa: BLE001 - the test hands it on
        return e


def test_user_message_finds_user_errors_by_class():
    from neural_jax.data import DatasetError
    from neural_jax.train import TrainConfigError
    from search.errors import UnknownStrategyError

    assert user_message(_raised(DatasetError("unknown dataset 'mnsit'"))) == (
        "error: unknown dataset 'mnsit'", 1)
    assert user_message(_raised(TrainConfigError("unknown optimizer 'Adamm'"))) == (
        "error: unknown optimizer 'Adamm'", 1)
    assert user_message(_raised(UnknownStrategyError("unknown strategy 'tep'"))) == (
        "error: unknown strategy 'tep'", 1)
    assert user_message(_raised(KeyboardInterrupt())) == ("interrupted", 130)
    assert user_message(FileNotFoundError(2, "No such file", "x.neural")) == (
        "error: no such file: x.neural", 1)
    assert user_message(_raised(json.JSONDecodeError("Expecting value", "{", 1)))[1] == 2


def test_a_builtin_error_is_a_bug_wherever_it_is_raised():
    # plain errors keep their traceback, even when raised by our own code
    from neural_jax.ir.printer import format_value

    with pytest.raises(ValueError) as info:
        format_value(float("nan"))
    assert user_message(info.value) is None
    assert user_message(_raised(TypeError("unsupported operand"))) is None
    assert user_message(_raised(RuntimeError("XLA failed"))) is None
