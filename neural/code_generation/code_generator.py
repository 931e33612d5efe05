"""``from neural.code_generation.code_generator import generate_optimized_dsl, generate_code``.

``generate_optimized_dsl(code, best_params)`` writes the DSL back with each HPO expression
replaced by its chosen value; ``generate_code(model_data, backend)`` writes a standalone
TensorFlow/Keras, PyTorch or JAX/Flax training script (:func:`bridges.codegen.generate_code`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neural_jax.dsl.optimized import generate_optimized_dsl

__all__ = ["generate_code", "generate_optimized_dsl"]


def _network(model_data: Any):
    """The IR network of whatever the seed's API hands over."""
    from neural_jax.dsl.ast import FileNode
    from neural_jax.ir.nodes import Network

    if isinstance(model_data, (Network, str, bytes)):
        return model_data
    if isinstance(model_data, FileNode):  # create_parser().parse(text), not yet transformed
        from neural.parser.parser import ModelTransformer

        return ModelTransformer().transform(model_data)
    raise TypeError(
        "generate_code takes the network as DSL text, as neural_jax.parse(text), or as "
        "ModelTransformer().transform(create_parser().parse(text)); got "
        f"{type(model_data).__name__}")


def generate_code(model_data: Any, backend: str = "tensorflow",
                  config: Mapping[str, Any] | None = None) -> str:
    """A standalone training script for a network, as the seed's ``generate_code``.

    Args:
      model_data: DSL text, an IR network (``neural_jax.parse(text)``), or what the seed's
        parser API returns: ``ModelTransformer().transform(create_parser().parse(text))``
        (the IR network) or ``create_parser().parse(text)`` (the parsed file).
      backend: ``"tensorflow"`` (or ``"tf"``, ``"keras"``), ``"pytorch"`` (or ``"torch"``)
        or ``"jax"`` (or ``"flax"``).
      config: ``{hpo_path: value}`` fixing HPO parameters (e.g. ``best_params``); missing
        ones take the single-run defaults.

    Returns:
      The script's source text: the model layer by layer, a ``load_data()`` hook, the DSL's
      training settings and ``main()``; it imports only that framework and numpy.

    Raises:
      NeuralSyntaxError, NeuralValidationError: the DSL text is wrong.
      BackendError: an unknown backend, or a layer the backend cannot express.
    """
    from bridges.codegen import generate_code as _generate

    return _generate(_network(model_data), backend, config)
