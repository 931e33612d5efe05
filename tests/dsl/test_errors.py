"""Bad input: every error is a NeuralSyntaxError or NeuralValidationError at the right place.

Each case gives the text, the error class, the line and column, a fragment of the message,
optionally a fragment of the hint, and the text the caret must point at.
"""

from __future__ import annotations

import pathlib
import random
import time
import warnings

import pytest

from neural_jax import (
    NeuralError,
    NeuralSyntaxError,
    NeuralValidationError,
    NeuralWarning,
    bind_search_space,
    check,
    parse,
    parse_all,
    search_space,
    to_dsl,
)
from neural_jax.cli import main
from neural_jax.core.errors import SHOWN_WIDTH
from neural_jax.dsl.optimized import generate_optimized_dsl

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*.neural"))

SYN = NeuralSyntaxError
VAL = NeuralValidationError


def net(layers: str, inp: str = "(28, 28, 1)", extra: str = "") -> str:
    """A network whose layers start on line 4, column 5; ``extra`` starts on line 4 + n."""
    body = "\n".join("    " + x for x in layers.rstrip("\n").split("\n"))
    return f"network N {{\n  input: {inp}\n  layers:\n{body}\n{extra}}}\n"


FLAT = "Flatten()\n"  # layers[0]; the layer under test is then on line 5


def run(text):
    """The whole front end: parse, then check, search space and printing of each network."""
    nets = parse_all(text)
    for n in nets:
        check(n)
        search_space(n)
        to_dsl(n)
    return nets


# (id, text, class, line, column, message fragment, caret text, hint fragment or None)
CASES = [
    # --- SPEC §4: HPO validation ---------------------------------------------------------
    ("empty_choice", net(FLAT + "Dense(HPO(choice()))"), VAL, 5, 15, "empty choice()",
     "choice()", None),
    ("mixed_choice", net(FLAT + 'Dense(HPO(choice(32, "a")))'), VAL, 5, 15,
     "choice() mixes number and string", "choice(32", None),
    ("range_lo_gt_hi", net(FLAT + "Dense(HPO(range(64, 32)))"), VAL, 5, 15,
     "needs low < high, got 64 >= 32", "range(64, 32)", None),
    ("range_lo_eq_hi", net(FLAT + "Dense(HPO(range(64, 64)))"), VAL, 5, 15,
     "needs low < high", "range(64, 64)", None),
    ("step_zero", net(FLAT + "Dense(HPO(range(32, 64, step=0)))"), VAL, 5, 29,
     "step must be in (0, high - low], got 0", "step=0", None),
    ("step_negative", net(FLAT + "Dense(HPO(range(32, 64, step=-8)))"), VAL, 5, 29,
     "got -8", "step=-8", None),
    ("step_too_big", net(FLAT + "Dense(HPO(range(32, 64, step=64)))"), VAL, 5, 29,
     "got 64", "step=64", None),
    ("log_range_lo_zero",
     net(FLAT + "Dense(8)", extra="  optimizer: Adam(learning_rate=HPO(log_range(0, 1e-2)))\n"),
     VAL, 6, 47, "log_range() needs low > 0, got 0", "0, 1e-2", None),
    ("log_range_lo_negative",
     net(FLAT + "Dense(8)", extra="  optimizer: Adam(learning_rate=HPO(log_range(-1, 1)))\n"),
     VAL, 6, 47, "needs low > 0, got -1", "-1, 1", None),
    ("hpo_in_input_dim", net(FLAT, inp="(28, HPO(choice(28, 32)), 1)"), VAL, 2, 15,
     "HPO is not allowed in input", "HPO(choice(28", None),
    ("hpo_as_input", net(FLAT, inp="HPO(choice(28, 32))"), VAL, 2, 10,
     "HPO is not allowed in input", "HPO(", None),
    ("hpo_in_seed", net(FLAT, extra="  train {\n    seed: HPO(choice(1, 2))\n  }\n"), VAL, 6, 11,
     "HPO is not allowed in seed", "HPO(", None),
    ("hpo_outside_domain", net("Dropout(HPO(range(0.5, 1.5)))"), VAL, 4, 13,
     "Dropout rate must be in [0, 1), got 1.5", "HPO(range(0.5", "0 <= rate < 1"),
    ("hpo_choice_outside_domain", net(FLAT + "Dense(HPO(choice(16, 0)))"), VAL, 5, 11,
     "units must be in [1, inf], got 0", "HPO(", None),
    ("hpo_float_range_for_int", net(FLAT + "Dense(HPO(range(1.5, 3.5)))"), VAL, 5, 11,
     "takes whole numbers", "HPO(", None),
    ("hpo_tuple_item_outside_domain", net("Conv2D(8, (HPO(choice(3, -3)), 3))"), VAL, 4, 15,
     "kernel_size must be positive whole numbers", "(HPO(", None),
    ("hpo_tuple_item_string", net('Conv2D(8, (3, HPO(choice("a", "b"))))'), VAL, 4, 15,
     "got (3, 'a')", "(3, HPO", None),
    ("range_bound_not_finite", net(FLAT + "Dense(HPO(range(1, 1e309)))"), VAL, 5, 24,
     "bounds must be finite numbers", "1e309", None),
    ("range_bound_string", net(FLAT + 'Dense(HPO(range("a", 5)))'), VAL, 5, 21,
     "bounds must be finite numbers", '"a"', None),
    ("choice_duplicate", net(FLAT + "Dense(HPO(choice(32, 32)))"), VAL, 5, 26,
     "lists 32 twice", "32)", None),
    ("hpo_no_form", net(FLAT + "Dense(HPO())"), VAL, 5, 11, "takes one search form", "HPO()",
     None),
    ("hpo_unknown_form", net(FLAT + "Dense(HPO(choise(1, 2)))"), VAL, 5, 15,
     "unknown HPO form 'choise'", "choise", "did you mean 'choice'?"),
    ("search_form_without_hpo", net(FLAT + "Dense(choice(32, 64))"), VAL, 5, 11,
     "a call (choice(...)) is not a value", "choice(", "HPO(choice(...))"),
    ("hpo_name_reused", net(FLAT + 'Dense(HPO(choice(1, 2), name="w"))\n'
                            'Dense(HPO(choice(3, 4), name="w"))'), VAL, 6, 11,
     "HPO name 'w' is already used", "HPO(", None),
    # --- SPEC §5: values, shapes, devices, macros ------------------------------------------
    ("dense_negative", net(FLAT + "Dense(-1)"), VAL, 5, 11, "Dense units must be in [1, inf]",
     "-1", "whole number >= 1"),
    ("dropout_too_big", net("Dropout(1.5)"), VAL, 4, 13, "Dropout rate must be in [0, 1)",
     "1.5", None),
    ("conv_zero_kernel", net("Conv2D(32, (0, 3))"), VAL, 4, 16,
     "kernel_size must be positive whole numbers", "(0, 3)", None),
    ("dense_infinite_units", net(FLAT + "Dense(1e309)"), VAL, 5, 11, "must be a whole number",
     "1e309", None),
    ("epsilon_infinite", net("LayerNormalization(epsilon=1e309)"), VAL, 4, 32,
     "must be a finite number, got inf", "1e309", None),
    ("validation_split_too_big",
     net(FLAT, extra="  train {\n    validation_split: 1.5\n  }\n"), VAL, 6, 23,
     "validation_split must be in [0, 1), got 1.5", "1.5", None),
    ("batch_size_float", net(FLAT, extra="  batch_size: 3.5\n"), VAL, 5, 15,
     "batch_size must be a whole number", "3.5", None),
    ("dense_on_4d", net("Conv2D(8, 3)\nDense(10)"), VAL, 5, 5,
     "Dense at layers[1]: Dense expects a flat input", "Dense(10)", "Flatten()"),
    ("dense_on_4d_input", net("Dense(10)\nOutput(2)"), VAL, 4, 5, "got rank 4", "Dense(10)",
     "Flatten()"),
    ("unknown_device", net('Flatten() @ "npu"'), VAL, 4, 17, "unknown device 'npu'", '"npu"',
     '"gpu:N"'),
    ("unknown_execution_device", net(FLAT, extra='  execution { device: "npu" }\n'), VAL, 5,
     23, "unknown device 'npu'", '"npu"', '"auto"'),
    ("execution_device_not_string", net(FLAT, extra="  execution { device: 3 }\n"), VAL, 5, 23,
     "device: takes a device name in quotes", "3 }", '"cpu"'),
    ("unknown_macro", net(FLAT + "MyBlock(3)"), VAL, 5, 5, "unknown layer or macro 'MyBlock'",
     "MyBlock", None),
    ("macro_typo", "define ConvBlock { Flatten() }\n" + net("ConvBlok()"), VAL, 5, 5,
     "unknown layer or macro 'ConvBlok'", "ConvBlok", "did you mean 'ConvBlock'?"),
    ("macro_recursion_direct", "define A { Flatten() A() }\n" + net("A()"), VAL, 1, 22,
     "macro recursion: A -> A", "A()", "directly or through another macro"),
    ("macro_recursion_indirect",
     "define A { B() }\ndefine B { Flatten() A() }\n" + net("A()"), VAL, 2, 22,
     "macro recursion: A -> B -> A", "A()", None),
    ("macro_unknown_param", "define A(x=1) { Dense(x) }\n" + net(FLAT + "A(y=2)"), VAL, 6, 7,
     "macro 'A' has no parameter 'y'", "y=2", None),
    ("macro_missing_arg", "define A(x) { Dense(x) }\n" + net(FLAT + "A()"), VAL, 6, 5,
     "macro 'A' needs argument 'x'", "A()", "A(x=...)"),
    ("macro_too_many_args", "define A(x) { Dense(x) }\n" + net(FLAT + "A(1, 2)"), VAL, 6, 10,
     "macro 'A' takes 1 argument, got 2", "2)", None),
    ("macro_arg_twice", "define A(x) { Dense(x) }\n" + net(FLAT + "A(1, x=2)"), VAL, 6, 10,
     "argument 'x' given twice", "x=2", None),
    ("macro_defined_twice", "define A { Flatten() }\ndefine A { Flatten() }\n" + net("A()"), VAL,
     2, 1, "macro 'A' is defined twice", "define A", None),
    ("macro_named_like_layer", "define Dense { Flatten() }\n" + net("Flatten()"), VAL, 1, 1,
     "has the name of a built-in layer", "define Dense", None),
    ("macro_with_block", "define A { Flatten() }\n" + net("A() { Dense(3) }"), VAL, 5, 9,
     "macro 'A' does not take a { block }", "{ Dense", None),
    ("macro_in_layer_choice",
     "define M { Dense(3) }\n" + net(FLAT + "HPO(choice(M(), Dense(4)))"), VAL, 6, 16,
     "macro 'M' cannot be used here", "M()", None),
    ("only_macros", "define A { Flatten() }\n", VAL, 1, 1, "no network is defined", "define",
     None),
    # --- names and arguments -------------------------------------------------------------
    ("unknown_layer", net(FLAT + "Dens(64)"), VAL, 5, 5, "unknown layer or macro 'Dens'",
     "Dens(64)", "did you mean 'Dense'?"),
    ("unknown_param", net(FLAT + "Dense(unitz=3)"), VAL, 5, 11, "Dense has no parameter 'unitz'",
     "unitz", "did you mean 'units'?"),
    ("unknown_optimizer", net(FLAT, extra="  optimizer: Adamm(learning_rate=0.1)\n"), VAL, 5, 14,
     "unknown optimizer 'Adamm'", "Adamm", "did you mean 'Adam'?"),
    ("unknown_loss", net(FLAT, extra='  loss: "mse2"\n'), VAL, 5, 9, "unknown loss 'mse2'",
     '"mse2"', None),
    ("too_many_positional", net("Dropout(0.5, 0.2)"), VAL, 4, 18,
     "Dropout takes at most 1 positional argument (rate), got 2", "0.2", None),
    ("positional_to_flatten", net("Flatten(1)"), VAL, 4, 13,
     "Flatten takes at most 0 positional arguments", "1)", None),
    ("positional_after_named", net(FLAT + 'Dense(units=64, "relu")'), VAL, 5, 21,
     "positional argument after a named one", '"relu"', "positional arguments first"),
    ("param_twice", net(FLAT + "Dense(64, units=32)"), VAL, 5, 15,
     "argument 'units' of Dense is given twice", "units=32", None),
    ("missing_required", net(FLAT + "Dense()"), VAL, 5, 5, "Dense needs 'units'", "Dense()",
     "Dense(units=...)"),
    ("bare_name_value", net(FLAT + "Dense(64, activation=relu)"), VAL, 5, 26,
     "unknown name 'relu'", "relu)", '"relu"'),
    ("bad_activation", net(FLAT + 'Dense(64, activation="relux")'), VAL, 5, 26,
     "activation must be one of", '"relux"', None),
    ("bad_bool", net(FLAT + "Dense(64, use_bias=3)"), VAL, 5, 24, "must be true or false", "3)",
     "true or false"),
    # --- sections ------------------------------------------------------------------------
    ("duplicate_section", net(FLAT, extra='  loss: "mse"\n  loss: "mae"\n'), VAL, 6, 3,
     "section 'loss' appears twice (first at line 5)", 'loss: "mae"', None),
    ("duplicate_train_setting", net(FLAT, extra="  train {\n    epochs: 1\n    epochs: 2\n  }\n"),
     VAL, 7, 5, "epochs is set twice (first at line 6)", "epochs: 2", None),
    ("duplicate_train_block", net(FLAT, extra="  train { epochs: 1 }\n  train { epochs: 2 }\n"),
     VAL, 6, 3, "section 'train' appears twice", "train {", None),
    ("unknown_section", net(FLAT, extra='  los: "mse"\n'), VAL, 5, 3, "unknown section 'los'",
     "los:", "did you mean 'loss'?"),
    ("train_setting_at_top", net(FLAT, extra="  epochs: 3\n"), VAL, 5, 3,
     "unknown section 'epochs'", "epochs", "inside train"),
    ("unknown_train_setting", net(FLAT, extra="  train { epoch: 3 }\n"), VAL, 5, 11,
     "unknown train setting 'epoch'", "epoch:", "did you mean 'epochs'?"),
    ("train_as_value", net(FLAT, extra="  train: 3\n"), VAL, 5, 3, "'train' is written as",
     "train:", "train { ... }"),
    ("loss_two_values", net(FLAT, extra='  loss: "mse" "mae"\n'), VAL, 5, 15,
     "loss: takes one value", '"mae"', None),
    ("missing_input", "network N {\n  layers:\n    Dense(3)\n}\n", VAL, 1, 1,
     "network 'N' has no input: section", "network N", "input: (28, 28, 1)"),
    ("missing_layers", "network N {\n  input: (4,)\n}\n", VAL, 1, 1,
     "network 'N' has no layers: section", "network N", None),
    ("several_inputs", net(FLAT, inp="(4,), (3,)"), VAL, 1, 1, "has 2 inputs", "network N",
     None),
    ("input_zero", net(FLAT, inp="(0, 3)"), VAL, 2, 11, "input dimension must be", "0, 3",
     None),
    ("network_twice", net(FLAT) + net(FLAT), VAL, 6, 1, "network 'N' is defined twice",
     "network N", None),
    ("value_in_layers", net(FLAT + "3"), VAL, 5, 5, "expected a layer call", "3", None),
    # --- blocks, wrappers and layer order ------------------------------------------------
    ("block_on_dense", net(FLAT + "Dense(3) { Dense(4) }"), VAL, 5, 14,
     "Dense does not take a { block }", "{ Dense(4)", "ResidualConnection"),
    ("residual_without_block", net(FLAT + "ResidualConnection()"), VAL, 5, 5,
     "ResidualConnection needs a { block }", "ResidualConnection()", None),
    ("embedding_not_first", net(FLAT + "Embedding(100, 8)"), VAL, 5, 5,
     "Embedding must be the first layer", "Embedding", None),
    ("output_not_last", net(FLAT + "Output(10)\nDense(3)"), VAL, 5, 5,
     "Output must be the last layer", "Output(10)", None),
    ("residual_rank_change", net(FLAT + "ResidualConnection() {\n  Dense(3)\n  Reshape((3, 1))\n}"),
     VAL, 5, 5, "the residual block changes the rank", "ResidualConnection", None),
    ("residual_shape_mismatch", net("ResidualConnection() {\n  Conv2D(8, 3)\n}"), VAL, 4, 5,
     "no 1x1 projection can match", "ResidualConnection", 'padding="same"'),
    ("residual_inner_error", net("ResidualConnection() {\n  Flatten()\n  Conv2D(8, 3)\n}"), VAL,
     6, 7, "Conv2D at layers[0].block[1]", "Conv2D(8, 3)", None),
    ("kernel_larger_than_input", net("Conv2D(8, 30)"), VAL, 4, 5,
     "kernel/pool of size 30 does not fit an input of size 28", "Conv2D", None),
    ("pool_after_shrinking", net("Conv2D(8, 27)\nMaxPooling2D(3)"), VAL, 5, 5,
     "does not fit an input of size 2", "MaxPooling2D", None),
    ("groupnorm_groups", net("Conv2D(6, 3)\nGroupNormalization(4)"), VAL, 5, 5,
     "groups=4 does not divide the 6 channels", "GroupNormalization", None),
    ("bidirectional_dense", net("Bidirectional(Dense(3))", inp="(10, 4)"), VAL, 4, 19,
     "Bidirectional wraps a recurrent layer, not Dense", "Dense(3)", "LSTM"),
    ("bidirectional_hpo", net("Bidirectional(HPO(choice(LSTM(3), GRU(3))))", inp="(10, 4)"), VAL,
     4, 19, "cannot wrap an HPO expression", "HPO(", None),
    ("time_distributed_value", net("TimeDistributed(5)", inp="(10, 4)"), VAL, 4, 21,
     "TimeDistributed wraps a layer call", "5)", None),
    ("lstm_on_flat", net(FLAT + "LSTM(8)"), VAL, 5, 5, "LSTM at layers[1]", "LSTM", None),
    ("reshape_mismatch", net("Reshape((5, -1))"), VAL, 4, 5, "cannot reshape", "Reshape", None),
    ("repeat_zero", net(FLAT + "Dense(4) * 0"), VAL, 5, 14, "repetition count must be >= 1",
     "* 0", None),
    ("repeat_huge", net(FLAT + "Dense(4) * 99999999999999999999"), VAL, 5, 14,
     "repetition count 99999999999999999999 is too large", "* 9", None),
    ("layer_choice_of_number", net(FLAT + "HPO(choice(Dense(3), 5))"), VAL, 5, 9,
     "choice() mixes", "choice(Dense", None),
    # --- syntax ----------------------------------------------------------------------------
    ("unterminated_block", "network N {\n  input: (4,)\n  layers:\n    Dense(3)\n", SYN, 1, 11,
     "unterminated block", "{", "add the missing '}'"),
    ("unterminated_string", net(FLAT, extra='  loss: "mse\n'), SYN, 5, 9,
     "unterminated string", '"mse', None),
    ("unterminated_args", "network N {\n  input: (4,)\n  layers:\n    Dense(3\n}\n", SYN, 5, 1,
     "expected ')' after argument list, found '}'", "}", None),
    ("unterminated_args_at_end", "network N {\n  input: (4,)\n  layers:\n    Dense(3", SYN, 4, 10,
     "unterminated argument list", "(", "add the missing ')'"),
    ("unterminated_list", net(FLAT, extra='  metrics: ["accuracy"\n'), SYN, 6, 1,
     "expected ']' to close the list", "}", None),
    ("stray_close", net(FLAT + "Dense(3))"), SYN, 5, 13, "unexpected ')'", ")", None),
    ("missing_value", net(FLAT + "Dense(3,, 4)"), SYN, 5, 13, "a value is missing", ",", None),
    ("double_equals", net(FLAT + "Dense(units==3)"), SYN, 5, 17, "unexpected '='", "=3", None),
    ("equals_for_section", "network N {\n  input = (4,)\n}\n", SYN, 2, 3, "unexpected name 'input'",
     "input =", None),
    ("keyword_case", "Network N { input: (3,) layers: Dense(3) }", SYN, 1, 1,
     "unexpected 'Network'", "Network", None),
    ("no_network_keyword", "N {\n  input: (3,)\n}\n", SYN, 1, 1, None, "N {", None),
    ("unexpected_character", net(FLAT + "Dense(3) ; Dense(4)"), SYN, 5, 14,
     "unexpected character ';'", ";", None),
    ("non_ascii_name", net(FLAT + "Dénse(3)"), SYN, 5, 6, "unexpected character 'é'", "énse",
     None),
    ("empty_file", "", SYN, 1, 1, "empty file", "", None),
    ("blank_file", "  \n\n\t\n", SYN, 1, 1, "empty file", "", None),
    ("only_comments", "# a comment\n// another one\n", SYN, 1, 1, "empty file", "# a comment",
     None),
    ("nul_str", "\x00\x00\x00\x00", SYN, 1, 1, "unexpected character '\\x00'", "\x00", None),
    ("nul_bytes", b"\x00\x00\x00\x00", SYN, 1, 1, "unexpected character '\\x00'", "\x00", None),
    ("nul_inside", net(FLAT + "Dense(3\x00)"), SYN, 5, 12, "unexpected character '\\x00'",
     "\x00", None),
    ("png_header_bytes", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", SYN, 1, 1, "not UTF-8",
     "\ufffdPNG", "binary"),
    ("png_header_str", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", SYN, 1, 1,
     "unexpected character '\\x89'", "\x89", None),
    ("non_utf8_later", b"network N {\n  input: (4,)\n  lay\xffers:\n}\n", SYN, 3, 6,
     "byte 31 is 0xff", "\ufffders", None),
    ("latin1_bytes", "# caf\u00e9\n".encode("latin-1") + net(FLAT).encode(), SYN, 1, 6,
     "not UTF-8", "\ufffd", None),
    ("int_too_many_digits", net(FLAT + "Dense(" + "9" * 5000 + ")"), VAL, 5, 11,
     "has 5000 digits", "999", "smaller number"),
    ("repeat_too_many_digits", net(FLAT + "Dense(4) * " + "9" * 5000), VAL, 5, 16,
     "has 5000 digits", "999", "smaller number"),
    ("nests_too_deeply", net(FLAT + "Dense(" + "[" * 3000 + "]" * 3000 + ")"), SYN, 5, 73,
     "nest more than 64 deep", "[[[", "flatten"),
]


@pytest.mark.parametrize(
    "text, cls, line, column, fragment, at, hint",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bad_input(text, cls, line, column, fragment, at, hint):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeuralWarning)
        with pytest.raises(NeuralError) as info:
            run(text)
    e = info.value
    assert type(e) is cls, f"{type(e).__name__}: {e}"
    assert isinstance(e, NeuralError)
    assert (e.line, e.column) == (line, column), str(e)
    if fragment is not None:
        assert fragment in e.message, str(e)
    assert e.hint.strip(), f"no hint: {e}"
    if hint is not None:
        assert hint in e.hint, str(e)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.strip():
        assert e.source_line == text.split("\n")[e.line - 1]
        assert e.source_line[e.column - 1:].startswith(at), (e.source_line, e.column)
        pad = "".join(c if c == "\t" else " " for c in e.source_line[:e.column - 1])
        assert e.caret == pad + "^"
    # the formatted message shows place, source line, caret and hint
    shown = str(e)
    assert f"line {e.line}, column {e.column}" in shown
    assert e.message in shown and e.hint in shown
    if e.source_line and len(e.source_line) <= SHOWN_WIDTH:
        assert "    " + e.caret in shown.splitlines()
    elif e.source_line:  # a long line shows a window with the caret under the same text
        lines = shown.splitlines()
        window, caret = lines[1][4:], lines[2][4:]
        assert len(window) <= SHOWN_WIDTH + 6 and caret.endswith("^")
        assert window[len(caret) - 1:].startswith(at[:3]), (window, caret)


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_error_classes():
    assert issubclass(NeuralSyntaxError, NeuralError)
    assert issubclass(NeuralValidationError, NeuralError)
    assert issubclass(NeuralSyntaxError, SyntaxError)
    assert issubclass(NeuralValidationError, ValueError)


def test_caret_under_tabs():
    text = "network N {\n\tinput: (4,)\n\tlayers:\n\t\tDens(3)\n}\n"
    with pytest.raises(NeuralValidationError) as info:
        parse(text)
    e = info.value
    assert (e.line, e.column) == (4, 3)
    assert e.caret == "\t\t^"


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(seed):
    data = random.Random(seed).randbytes(300)
    for text in (data, data.decode("latin-1")):
        with pytest.raises(NeuralSyntaxError) as info:
            run(text)
        assert info.value.line >= 1 and info.value.column >= 1
        assert info.value.hint


def test_not_text():
    with pytest.raises(NeuralSyntaxError):
        parse_all(12345)  # type: ignore[arg-type]


def test_byte_order_mark_is_accepted():
    text = "\ufeff" + net("Flatten()\nDense(3)")
    assert parse(text) == parse(net("Flatten()\nDense(3)"))
    assert parse(text.encode("utf-8")).name == "N"


def test_huge_input_dimension_does_not_crash():
    with pytest.raises(NeuralValidationError) as info:
        run(net("Conv2D(8, 3, padding=\"same\", strides=2)\nOutput(3)",
                inp=f"({'9' * 400}, 8, 1)"))
    assert "input dimension must be at most 2147483647" in info.value.message
    assert (info.value.line, info.value.column) == (2, 11)


def test_network_too_large():
    text = net("ResidualConnection() {\n  Dense(4) * 60000\n} * 2", inp="(4,)")
    with pytest.raises(NeuralValidationError) as info:
        parse(text)
    # found before any copy is made, at the item whose repetition crosses the limit
    assert "expands to 120,002 layers; a network may have at most 100,000" in info.value.message
    assert info.value.line == 4 and info.value.hint


def test_macro_expansion_too_large():
    defs = "define A0 { Dense(2) }\n" + "".join(
        f"define A{i} {{ A{i - 1}() A{i - 1}() }}\n" for i in range(1, 40))
    with pytest.raises(NeuralValidationError) as info:
        start = time.perf_counter()
        parse(defs + net("A39()", inp="(4,)"))
    assert time.perf_counter() - start < 1.0  # counted, not expanded
    # at the call in the network (line 40 + 4), with the size it would have
    assert "A39(...) expands to 549,755,813,888 layers" in info.value.message
    assert (info.value.line, info.value.column) == (44, 5) and info.value.hint


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_errors_name_the_line_whatever_the_line_ends(end):
    text = net(FLAT + "Dense(-1)").replace("\n", end)
    with pytest.raises(NeuralValidationError) as info:
        parse(text)
    assert (info.value.line, info.value.column) == (5, 11)
    assert info.value.source_line.strip() == "Dense(-1)"
    good = net(FLAT + "Dense(3)").replace("\n", end)  # and offsets still fit the text
    assert generate_optimized_dsl(good.replace("Dense(3)", "Dense(HPO(choice(3, 4)))"),
                                  {"layers[1].units": 4}) == good.replace("Dense(3)", "Dense(4)")


def test_macros_nested_too_deeply_fail_at_their_place():
    deep = "define M0 { Dense(2) }\n" + "".join(
        f"define M{i} {{ ResidualConnection() {{ M{i - 1}() }} }}\n" for i in range(1, 200))
    with pytest.raises(NeuralValidationError) as info:
        parse(deep + net("M199()", inp="(4,)"))
    assert "nest more than 64 deep" in info.value.message and info.value.line > 1


def test_parse_unknown_network_name():
    with pytest.raises(NeuralValidationError) as info:
        parse(net("Flatten()"), network="M")
    assert "no network named 'M'" in info.value.message
    assert "N" in info.value.hint


def test_errors_pickle():
    import pickle

    with pytest.raises(NeuralError) as info:
        parse(net("Flatten()\nDens(3)"))
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is NeuralValidationError
    assert (again.line, again.column, again.hint) == (5, 5, info.value.hint)


# --- search_space= dicts ---------------------------------------------------------------------

_SGD = net("Flatten()\nDense(8)\nOutput(2)", inp="(8,)",
           extra="  optimizer: SGD(learning_rate=0.1)\n")
_DROPOUT = net("Flatten()\nDense(8)\nDropout(0.2)\nOutput(2)", inp="(8,)")


@pytest.mark.parametrize("text, space, fragment", [
    (_SGD, {"learning_rate": {"type": "float", "min": 1e-2, "max": 1e-4}},
     "min must be < max, got 0.01 >= 0.0001"),
    (_SGD, {"learning_rate": {"type": "float", "min": 1e-2, "max": 1e-2}}, "min must be < max"),
    (_SGD, {"learning_rate": {"type": "float", "min": 0, "max": 1e-2, "log": True}},
     "log scale needs min > 0, got 0"),
    (_SGD, {"learning_rate": {"type": "gaussian", "min": 0, "max": 1}}, "unknown type 'gaussian'"),
    (_SGD, {"learning_rate": {"min": 0.1, "max": 1}}, "unknown type None"),
    (_SGD, {"batch_size": {"type": "categorical", "values": []}},
     "categorical needs a non-empty 'values' list"),
    (_SGD, {"batch_size": {"type": "categorical"}}, "non-empty 'values'"),
    (_SGD, {"batch_size": 32}, "expected a dict, got int"),
    (_SGD, {"learning_rate": {"type": "float", "min": "a", "max": 1}}, "'min' must be a finite"),
    (_SGD, {"learning_rate": {"type": "float", "min": 0.1, "max": float("inf")}},
     "'max' must be a finite"),
    (_SGD, {"units": {"type": "int", "min": 1, "max": 9, "step": 0}}, "step must be in"),
    (_SGD, {"learning_rate": {"type": "float", "min": 0.1, "max": 1, "condition": 3}},
     "condition must be a dict"),
    (_DROPOUT, {"dropout_rate": {"type": "float", "min": 0.1, "max": 1.5}},
     "can give layers[2].rate the value 1.5"),
    (_SGD, {"layers[1].units": {"type": "int", "min": 0, "max": 8}},
     "can give layers[1].units the value 0"),
    (_SGD, {"batch_size": {"type": "float", "min": 16, "max": 64}}, "takes whole numbers"),
    (_SGD, {"layers[1].activation": {"type": "categorical", "values": ["relu", "nope"]}},
     "the value 'nope'"),
    (_SGD, {"optimizer": {"type": "categorical", "values": ["Adam", "Adamm"]}},
     "categorical of optimizer names"),
])
def test_bad_search_space_dict(text, space, fragment):
    with pytest.raises(NeuralValidationError) as info:
        bind_search_space(parse(text), space)
    assert fragment in info.value.message
    assert info.value.hint


def test_search_space_key_binding_to_nothing_warns():
    seed_space = {
        "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "log": True},
        "dropout_rate": {"type": "float", "min": 0.1, "max": 0.5},
    }
    with pytest.warns(NeuralWarning, match="'dropout_rate' binds to nothing"):
        params = bind_search_space(parse(_SGD), seed_space)
    names = [p.name for p in params]
    assert "optimizer.learning_rate" in names
    assert not any("dropout" in n or n.rsplit(".", 1)[-1] == "rate" for n in names)


def test_search_space_dropout_rate_binds_when_there_is_dropout():
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeuralWarning)
        params = bind_search_space(parse(_DROPOUT),
                                   {"dropout_rate": {"type": "float", "min": 0.1, "max": 0.5}})
    assert [p.targets for p in params] == [("layers[2].rate",)]


# --- the command line ----------------------------------------------------------------------


def test_cli_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.neural"
    bad.write_text(net("Flatten()\nDens(64)"))
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 5, column 5" in err
    assert "    Dens(64)" in err
    assert "\n        ^\n" in err  # the caret under the source line
    assert "did you mean 'Dense'?" in err


def test_cli_syntax_error(tmp_path, capsys):
    bad = tmp_path / "bad.neural"
    bad.write_text("network N {\n  input: (4,)\n  layers:\n    Dense(3\n")
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("syntax error: line 4, column 10: unterminated argument list")


def test_cli_binary_file(tmp_path, capsys):
    bad = tmp_path / "bad.neural"
    bad.write_bytes(bytes(range(256)))
    assert main(["check", str(bad)]) == 1
    assert "not UTF-8" in capsys.readouterr().err


def test_cli_missing_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.neural")]) == 1
    assert "nope.neural" in capsys.readouterr().err


def test_cli_directory(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_cli_unknown_network(capsys):
    assert main(["check", "--network", "Nope", str(EXAMPLES[0])]) == 1
    assert "no network named 'Nope'" in capsys.readouterr().err


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_cli_examples(path, capsys):
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert ": ok (" in out
