"""The Neural DSL: grammar, parser, macro expansion, lowering to the IR, in-place substitution.

The error classes (from :mod:`neural_jax.core`) and the printer (from
:mod:`neural_jax.ir.printer`) are re-exported here as the front end's public API.
"""

from neural_jax.core import (
    NeuralError,
    NeuralSyntaxError,
    NeuralValidationError,
    NeuralWarning,
)
from neural_jax.dsl.api import load, parse, parse_all
from neural_jax.dsl.macros import expand_macros
from neural_jax.dsl.optimized import generate_optimized_dsl
from neural_jax.dsl.parser import parse_ast
from neural_jax.ir.printer import format_value, to_dsl, to_dsl_file

__all__ = [
    "NeuralError",
    "NeuralSyntaxError",
    "NeuralValidationError",
    "NeuralWarning",
    "expand_macros",
    "format_value",
    "generate_optimized_dsl",
    "load",
    "parse",
    "parse_all",
    "parse_ast",
    "to_dsl",
    "to_dsl_file",
]
