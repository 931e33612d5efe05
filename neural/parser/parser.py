"""``create_parser().parse(text)`` and ``ModelTransformer().transform(tree)`` -> the IR.

``create_parser()`` returns a parser whose ``parse`` gives the syntax tree (macros
expanded); ``ModelTransformer().transform(tree)`` lowers it to the IR
:class:`neural_jax.ir.Network` (the first network of the file).
"""

from __future__ import annotations

from neural_jax.core.errors import NeuralValidationError
from neural_jax.dsl.ast import FileNode
from neural_jax.dsl.lower import lower_file
from neural_jax.dsl.macros import expand_macros
from neural_jax.dsl.parser import parse_ast
from neural_jax.ir.nodes import Network

__all__ = ["create_parser", "ModelTransformer"]


class _Parser:
    """What ``create_parser()`` returns."""

    def parse(self, text: str) -> FileNode:
        return expand_macros(parse_ast(text))


def create_parser(start_rule: str = "network") -> _Parser:
    """A DSL parser (``start_rule`` is accepted for compatibility; files are parsed whole)."""
    del start_rule
    return _Parser()


class ModelTransformer:
    """Turns a parsed file into the IR."""

    def transform(self, tree: FileNode) -> Network:
        nets = lower_file(tree)
        if not nets:
            raise NeuralValidationError("no network is defined", line=1, column=1,
                                        hint="add `network Name { ... }`")
        return nets[0]
