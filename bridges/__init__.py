"""Bridges: the same IR as PyTorch and TensorFlow models, weight transfer, generated code.

* :mod:`bridges.torch`: IR -> ``torch.nn.Module``, weights to and from JAX variables,
  trials trained in PyTorch.
* :mod:`bridges.tensorflow`: IR -> Keras model on TensorFlow, the same.
* :mod:`bridges.codegen`: ``generate_code(network, backend)`` writes a standalone script.
* :mod:`bridges.executor`: the PyTorch / TensorFlow executor of a search (a pool of worker
  processes, :mod:`bridges.trials`), which ``neural_jax.executors.EXECUTORS`` names.
* :mod:`bridges.cli`: ``neural compile``, ``neural export`` and ``neural run --backend
  pytorch|tensorflow``, which the ``neural`` command reaches by name.

``neural_jax`` never imports this package: it reaches it only through those names.

torch and tensorflow are imported only when their bridge is used, so ``import bridges`` is
light.
"""

from bridges.codegen import generate_code
from bridges.errors import BackendError, WeightMismatch

__all__ = ["BackendError", "WeightMismatch", "generate_code"]
