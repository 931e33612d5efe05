"""``from neural.code_generation.code_generator import generate_optimized_dsl, generate_code``.

``generate_code`` (standalone TensorFlow / PyTorch / JAX scripts) comes with the bridges;
until then it raises :class:`NotImplementedError` naming what works instead.
"""

from __future__ import annotations

from typing import Any

from neural_jax.dsl.optimized import generate_optimized_dsl

__all__ = ["generate_optimized_dsl", "generate_code"]


def generate_code(model_data: Any, backend: str = "tensorflow") -> str:
    """Standalone training code for a network (not available yet)."""
    raise NotImplementedError(
        f"generate_code(backend={backend!r}) is not available yet; "
        "neural_jax.dsl.to_dsl(network) writes the network back as DSL text")
