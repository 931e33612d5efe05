"""Code generation: a network as a standalone TensorFlow/Keras, PyTorch or JAX/Flax script.

``generate_code(network, backend="tensorflow", config=None)`` returns the source of a script
that imports only that framework and numpy: the model written layer by layer, a data hook,
the DSL's training settings and a ``main()``. One emitter per layer kind and backend lives in
:data:`emit_keras.KERAS`, :data:`emit_torch.TORCH` and :data:`emit_flax.FLAX`, each keyed by
the names of :data:`neural_jax.ir.registry.LAYERS`.

Importing this package imports no framework; generating code imports JAX (the training
settings are resolved by :mod:`neural_jax.train`).
"""

from bridges.codegen.api import BACKENDS, generate_code, normalize_backend

__all__ = ["BACKENDS", "generate_code", "normalize_backend"]
