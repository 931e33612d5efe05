"""Bridges: the same IR as PyTorch and TensorFlow models, weight transfer, generated code.

* :mod:`bridges.torch`: IR -> ``torch.nn.Module``, weights to and from JAX variables,
  trials trained in PyTorch.
* :mod:`bridges.tensorflow`: IR -> Keras model on TensorFlow, the same.
* :mod:`bridges.codegen`: ``generate_code(network, backend)`` writes a standalone script.

torch and tensorflow are imported only when their bridge is used, so ``import bridges`` is
light.
"""

from bridges.codegen import generate_code
from bridges.errors import BackendError, WeightMismatch

__all__ = ["BackendError", "WeightMismatch", "generate_code"]
