"""The front end in one call: text -> checked IR."""

from __future__ import annotations

import os
import pathlib

from neural_jax.core.errors import NeuralValidationError
from neural_jax.dsl.lower import lower_file
from neural_jax.dsl.macros import expand_macros
from neural_jax.dsl.parser import parse_ast
from neural_jax.ir.nodes import Network

__all__ = ["parse", "parse_all", "load"]


def parse_all(text: str | bytes, name: str = "<string>") -> tuple[Network, ...]:
    """Parses every network of a DSL text (macros expanded, values validated).

    Raises:
      NeuralSyntaxError: the text does not parse.
      NeuralValidationError: it parses but means nothing.
    """
    file = expand_macros(parse_ast(text, name))
    nets = lower_file(file)
    if not nets:
        raise NeuralValidationError(
            "no network is defined (only macros)", line=1, column=1,
            source_line=file.source.line_text(1), hint="add `network Name { ... }`")
    return nets


def parse(text: str | bytes, name: str = "<string>", network: str | None = None) -> Network:
    """Parses DSL text and returns one network: the only one, or the one named ``network``."""
    nets = parse_all(text, name)
    if network is None:
        return nets[0]
    for n in nets:
        if n.name == network:
            return n
    raise NeuralValidationError(
        f"no network named {network!r} in {name}",
        hint="networks here: " + ", ".join(n.name for n in nets))


def load(path: str | os.PathLike, network: str | None = None) -> Network:
    """Reads and parses a `.neural` file."""
    p = pathlib.Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise NeuralValidationError(f"cannot read {str(p)!r}: {e.strerror}",
                                    hint="check the path") from None
    return parse(data, str(p), network)
