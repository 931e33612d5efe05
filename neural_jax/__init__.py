"""neural_jax: the Neural DSL compiled to one IR that trains populations of trials in JAX.

Importing this package is light: it loads the front end only (no jax, torch or
tensorflow); the trainer and the bridges are imported when used.
"""

from neural_jax.core import (
    NeuralError,
    NeuralSyntaxError,
    NeuralValidationError,
    NeuralWarning,
)
from neural_jax.dsl import (
    generate_optimized_dsl,
    load,
    parse,
    parse_all,
    to_dsl,
)
from neural_jax.ir import Network, bind_search_space, check, search_space

__version__ = "0.1.0"

__all__ = [
    "Network",
    "NeuralError",
    "NeuralSyntaxError",
    "NeuralValidationError",
    "NeuralWarning",
    "__version__",
    "bind_search_space",
    "check",
    "generate_optimized_dsl",
    "load",
    "parse",
    "parse_all",
    "search_space",
    "to_dsl",
]
