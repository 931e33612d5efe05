"""The JAX backend: IR -> Flax model, one rule per layer kind.

``build_model(net, config)`` resolves the network's structure for one configuration and
returns a :class:`Model` with pure ``init`` and ``apply`` functions::

    model = build_model(net, {"layers[1].units": 128})
    variables = model.init(key, x)
    logits, state = model.apply(variables, x, train=True, rng=key, hparams={...})

Which searched values are structure and which are per-call inputs:

* **structure** (``config``; a different value is a different compiled program): every
  argument the registry marks ``shape_affecting`` (units, filters, kernel sizes, strides,
  padding, dilation, pool sizes, heads, key_dim, ff_dim, max_len, groups, use_bias,
  return_sequences, merge_mode, target_shape, Embedding sizes) and the index of a layer
  choice.
* **per call** (``hparams``, ``model.dynamic_paths``; one program serves every value):
  float arguments (Dropout / SpatialDropout rate, GaussianNoise stddev, BatchNormalization
  momentum and epsilon, normalisation epsilons, RNN dropout and recurrent_dropout,
  attention and transformer dropout) passed as float32 scalars, and categorical choices
  that do not change shapes (activations) passed as the int32 index of the option and
  dispatched with ``lax.switch``. ``model.hparams(values)`` converts option values
  (``"gelu"``) to indices and fills in defaults.

Build options: ``build_model(net, config, conv_impl="xla" | "patches", pad_widths=(...))``:
how ungrouped convolutions are computed (:mod:`.layers_conv`; the population and single
trainers use patches on CPU) and which searched widths are built at their widest option
with the true width as a per-call value, exactly equal to the narrow network
(:mod:`.padding`).

Deviations from Keras are listed in the docstrings of :mod:`.ops` (activations),
:mod:`.layers_attention` (TransformerEncoder block) and :mod:`.rules` (residual shortcut).
A layer the backend cannot express exactly raises :class:`BackendError`.
"""

from neural_jax.jax.model import Model, build_model
from neural_jax.jax.ops import ACTIVATIONS
from neural_jax.jax.plan import BackendError, Dyn, LayerPlan, NetworkPlan, plan_network
from neural_jax.jax.rules import RULES, make_layer

__all__ = [
    "ACTIVATIONS",
    "RULES",
    "BackendError",
    "Dyn",
    "LayerPlan",
    "Model",
    "NetworkPlan",
    "build_model",
    "make_layer",
    "plan_network",
]
