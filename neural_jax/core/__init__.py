"""The bottom layer of neural_jax: where text came from and the errors a user can cause.

It imports nothing else of ours; :mod:`neural_jax.dsl`, :mod:`neural_jax.ir` and every
package above them build on it.
"""

from neural_jax.core.errors import (
    ArgumentError,
    MessageError,
    NeuralError,
    NeuralSyntaxError,
    NeuralValidationError,
    NeuralWarning,
    did_you_mean,
)
from neural_jax.core.source import NO_SPAN, Source, Span

__all__ = [
    "NO_SPAN",
    "ArgumentError",
    "MessageError",
    "NeuralError",
    "NeuralSyntaxError",
    "NeuralValidationError",
    "NeuralWarning",
    "Source",
    "Span",
    "did_you_mean",
]
