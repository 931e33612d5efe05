"""Mutation fuzzing of the front end: no input, however malformed, raises anything but NeuralError.

Every example file is mutated at random (characters, tokens, lines, numbers) with a fixed
seed. For each mutant, ``parse_all`` then ``check``, ``search_space`` and ``to_dsl`` of each
network must either succeed or raise a :class:`NeuralError` placed on a line of the text; and
a mutant that parses must print back to text that parses to the same networks.
"""

from __future__ import annotations

import pathlib
import random
import re
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neural_jax import NeuralError, check, parse_all, search_space, to_dsl
from neural_jax.ir.printer import to_dsl_file

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*.neural"))
TEXTS = {p.stem: p.read_text(encoding="utf-8") for p in EXAMPLES}

# --- mutations ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s+|#[^\n]*|//[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
    r"""|[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|[A-Za-z_]\w*|.""",
    re.DOTALL,
)
_NUMBER = re.compile(r"(?<![\w.])[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")

PUNCT = list("(){}[],:=@*\"'#/.-+;\\")
KEYWORDS = [
    "network", "define", "input:", "layers:", "train", "execution {", "HPO", "choice",
    "range", "log_range", "step=", "Dense", "Output", "Flatten()", "ResidualConnection()",
    "LSTM", "Bidirectional", "TimeDistributed", "Embedding", "None", "true", "loss:",
    "optimizer:", "batch_size:", "seed:", "@ \"gpu\"", "* 3", "{", "}", "HPO(choice())",
    "HPO(range(1, 0))", "name=", "units=", "Adam", "ExponentialDecay", "early_stopping",
]
ODD = ["\x00", "\x7f", "\u00e9", "\u2028", "\ufeff", "\U0001f600", "\t", "\r", "\n", "\\"]
EXTREMES = ["-1", "0", "1", "0.0", "-0.5", "1e309", "-1e309", "1e-320", "2", "1.5",
            str(10**30), "9" * 400, "-" + str(2**63), "3e38"]


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _mutate_once(text: str, rng: random.Random) -> str:
    op = rng.randrange(14)
    n = len(text)
    if n == 0:
        return rng.choice(KEYWORDS + PUNCT)
    i = rng.randrange(n)
    if op == 0:  # delete a character
        return text[:i] + text[i + 1:]
    if op == 1:  # duplicate a character
        return text[:i] + text[i] + text[i:]
    if op == 2:  # swap two neighbouring characters
        j = min(i + 1, n - 1)
        return text[:i] + text[j] + text[i] + text[j + 1:] if j > i else text
    if op == 3:  # insert punctuation / brackets / quotes
        return text[:i] + rng.choice(PUNCT) + text[i:]
    if op == 4:  # insert a keyword or a fragment
        return text[:i] + rng.choice(KEYWORDS) + text[i:]
    if op == 5:  # insert a digit string
        return text[:i] + rng.choice(EXTREMES + [str(rng.randrange(100))]) + text[i:]
    if op == 6:  # insert an odd character (NUL, non-ASCII, control)
        return text[:i] + rng.choice(ODD) + text[i:]
    if op == 7:  # truncate
        return text[:i]
    if op in (8, 9, 10):  # token-level: delete, duplicate, swap
        toks = _tokens(text)
        k = rng.randrange(len(toks))
        if op == 8:
            del toks[k]
        elif op == 9:
            toks.insert(k, toks[k])
        else:
            m = rng.randrange(len(toks))
            toks[k], toks[m] = toks[m], toks[k]
        return "".join(toks)
    if op == 11:  # lines: swap, delete or duplicate
        lines = text.split("\n")
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        how = rng.randrange(3)
        if how == 0:
            lines[a], lines[b] = lines[b], lines[a]
        elif how == 1:
            del lines[a]
        else:
            lines.insert(a, lines[b])
        return "\n".join(lines)
    # 12, 13: a number becomes an extreme value
    nums = list(_NUMBER.finditer(text))
    if not nums:
        return text
    m = rng.choice(nums)
    return text[: m.start()] + rng.choice(EXTREMES) + text[m.end():]


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        text = _mutate_once(text, rng)
    return text


# --- the property ---------------------------------------------------------------------------


def run_front_end(text: str) -> tuple | None:
    """Parses, checks and prints ``text``; returns the networks, or None on a NeuralError.

    Anything but a NeuralError propagates (that is the bug the fuzzer looks for).
    """
    try:
        nets = parse_all(text)
    except NeuralError as e:
        _check_error(text, e)
        return None
    for net in nets:
        search_space(net)
        to_dsl(net)
        try:
            check(net)
        except NeuralError as e:
            _check_error(text, e)
    return nets


def _check_error(text: str, e: NeuralError) -> None:
    assert isinstance(e.message, str) and e.message
    assert isinstance(e.hint, str)
    if text.strip():
        assert e.line >= 1, f"error without a line: {e.message}"
        assert e.column >= 1, f"error without a column: {e.message}"
        if text.startswith("\ufeff"):
            text = " " + text[1:]  # the parser blanks a byte-order mark, keeping offsets
        # a lone CR ends a line too (classic Mac files); CR LF is one line end
        lines = re.sub(r"\r(?!\n)", "\n", text).split("\n")
        assert e.line <= len(lines), f"line {e.line} past the end: {e.message}"
        assert e.source_line == lines[e.line - 1], e.message


def round_trip(nets: tuple) -> None:
    printed = to_dsl_file(nets)
    again = parse_all(printed)
    assert again == nets, f"round trip changed the networks; printed text:\n{printed}"


def fuzz(n: int, seed: int) -> None:
    rng = random.Random(seed)
    names = sorted(TEXTS)
    failures = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(n):
            name = names[k % len(names)]
            text = mutate(TEXTS[name], rng)
            try:
                nets = run_front_end(text)
                if nets is not None:
                    round_trip(nets)
            except Exception as e:  # noqa: BLE001 - collected and reported below
                failures.append((name, k, type(e).__name__, str(e)[:300], text))
    if failures:
        name, k, kind, msg, text = failures[0]
        kinds = sorted({f[2] + ": " + f[3].splitlines()[0][:80] for f in failures})
        pytest.fail(f"{len(failures)} of {n} mutants escaped; first from {name} (#{k}): "
                    f"{kind}: {msg}\n--- mutant ---\n{text}\n--- all kinds ---\n"
                    + "\n".join(kinds))


@pytest.mark.parametrize("seed", range(6))
def test_mutants_raise_only_neural_errors(seed):
    fuzz(500, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 120))
def test_mutants_raise_only_neural_errors_long(seed):
    fuzz(2000, seed)


# --- random token soup (hypothesis) ---------------------------------------------------------

_PIECES = KEYWORDS + PUNCT + ODD + EXTREMES + [
    "network N {", "input: (4,)", "layers:", "Dense(3)", "Flatten()", "}", "\n", " ",
    '"relu"', "HPO(choice(1, 2))", "HPO(range(0.1, 0.5))", "define M(x=1) {", "M()", "x",
    "Output(2)", "train {", "epochs: 2", "execution {", 'device: "cpu"',
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_token_soup_raises_only_neural_errors(pieces):
    text = " ".join(pieces)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nets = run_front_end(text)
        if nets is not None:
            round_trip(nets)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_raises_only_neural_errors(text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_front_end(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_raise_only_neural_errors(data):
    try:
        parse_all(data)
    except NeuralError as e:
        assert e.line >= 1 and e.column >= 1
