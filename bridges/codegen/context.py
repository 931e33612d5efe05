"""What every code emitter reads: the network resolved for one configuration, and its task.

:func:`build_context` turns an IR network and a configuration into a :class:`Context`:
the constant layer plans (``neural_jax.ir.plan.constant_plan``), the training settings
(``neural_jax.train.spec.training_spec``), the input/output shapes and a :class:`Task` that
says what the loss is computed from. Emitters walk the plans with :func:`out_shape` (the
registry's shape rules), name layers with :func:`layer_name`, and format values with
:func:`lit`.

Final activations follow the JAX backend: a ``softmax``/``sigmoid`` Output is planned as
logits. When the loss is the matching cross-entropy (softmax with a categorical one, sigmoid
with the binary one) the script keeps the logits and uses the loss's ``from_logits`` form;
otherwise (e.g. a softmax Output with ``mse``) the model applies the activation itself and
the loss sees probabilities, as :mod:`neural_jax.train.losses` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neural_jax.ir.nodes import Network
from neural_jax.ir.plan import LayerPlan, NetworkPlan
from neural_jax.ir.registry import LAYERS
from neural_jax.ir.shapes import RuleContext

__all__ = ["Context", "Task", "build_context", "layer_name", "lit", "out_shape", "snake"]

#: losses whose probabilities a final activation can be folded into
_CLASSIFICATION = ("sparse_categorical_crossentropy", "categorical_crossentropy",
                   "binary_crossentropy")
_NATURAL = {"softmax": ("sparse_categorical_crossentropy", "categorical_crossentropy"),
            "sigmoid": ("binary_crossentropy",)}


@dataclass(frozen=True)
class Task:
    """The loss and what it is computed from.

    Attributes:
      loss: canonical loss name (``sparse_categorical_crossentropy``, ``mse``...).
      params: the loss's float parameters with defaults (``delta``, ``label_smoothing``).
      from_logits: the loss receives logits (else probabilities or plain values).
      model_activation: ``"softmax"``/``"sigmoid"`` when the model applies it at the end.
      metrics: ``(name, params)`` of the metrics the script reports on validation data.
    """

    loss: str
    params: Mapping[str, float]
    from_logits: bool
    model_activation: str | None
    metrics: tuple[tuple[str, dict[str, Any]], ...]

    @property
    def classification(self) -> bool:
        """Whether the loss is a cross-entropy (accuracy is then meaningful)."""
        return self.loss in _CLASSIFICATION


@dataclass
class Context:
    """One network resolved for code generation.

    Attributes:
      net: the IR network.
      backend: ``"tensorflow"``, ``"pytorch"`` or ``"jax"``.
      config: the full configuration (every HPO path with a value).
      plan: the constant plan (no per-call values left).
      spec: the :class:`neural_jax.train.spec.TrainSpec`.
      task: the :class:`Task`.
      input_shape: the input shape without the batch axis (``None`` where unknown).
      output_shape: the model's output shape without the batch axis.
      vocab_size: the Embedding's ``input_dim`` when the inputs are token ids, else None.
      helpers: names of the helper classes/functions the emitted model needs.
      dataset: the built-in dataset ``load_data()`` reads, or None (random data).
    """

    net: Network
    backend: str
    config: dict[str, Any]
    plan: NetworkPlan
    spec: Any
    task: Task
    input_shape: tuple
    output_shape: tuple
    vocab_size: int | None = None
    helpers: set[str] = field(default_factory=set)
    dataset: str | None = None

    @property
    def data_shape(self) -> tuple[int, ...]:
        """The input shape the data hook uses (unknown sizes become 16)."""
        return tuple(16 if d is None else int(d) for d in self.input_shape)


def lit(v: Any) -> str:
    """A Python literal for ``v``: strings in double quotes, tuples and lists as written."""
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, tuple):
        inner = ", ".join(lit(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, list):
        return "[" + ", ".join(lit(x) for x in v) + "]"
    if hasattr(v, "tolist"):  # numpy scalars and arrays
        return lit(v.tolist())
    return repr(v)


def snake(name: str) -> str:
    """Keras-style snake case of a layer name: ``Conv2DTranspose`` -> ``conv2d_transpose``."""
    s = re.sub(r"(\d)D", r"\1d", name)
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    return s.lower()


def layer_name(plan: LayerPlan) -> str:
    """A readable, unique name from the layer's kind and IR path: ``layers[2].block[1]``
    (a Conv2D) -> ``conv2d_2_1``."""
    path = re.sub(r"\.choice\[\d+\]", "", plan.path)
    index = "_".join(re.findall(r"\[(\d+)\]", path))
    return f"{snake(plan.type)}_{index}" if index else snake(plan.type)


def args_of(plan: LayerPlan) -> dict[str, Any]:
    """The plan's arguments as a dict."""
    return dict(plan.args)


def out_shape(plan: LayerPlan, shape: tuple) -> tuple:
    """The output shape of ``plan`` for an input of ``shape`` (batch axis excluded)."""
    ctx = RuleContext(name=plan.type)
    if plan.block is not None:
        ctx.block = lambda s: walk_shapes(plan.block, s)
    if plan.inner is not None:
        ctx.inner = lambda s: out_shape(plan.inner, s)
    return tuple(LAYERS[plan.type].shape(tuple(shape), args_of(plan), ctx))


def walk_shapes(plans, shape: tuple) -> tuple:
    """The output shape of a sequence of plans."""
    for p in plans:
        shape = out_shape(p, shape)
    return shape


def _task(plan: NetworkPlan, spec) -> Task:
    from neural_jax.ir.training.resolve import resolve_loss

    params = dict(spec.loss_params)
    from_logits = bool(params.pop("from_logits", False))
    loss = resolve_loss(spec.loss, final_activation=plan.final_activation,
                        from_logits=from_logits or None, **params)
    final = plan.final_activation
    if final is not None and loss.name in _NATURAL.get(final, ()):
        logits, model_act = True, None
    elif final is not None:
        logits, model_act = False, final
    else:
        logits, model_act = loss.from_logits, None
    metrics = []
    for name, mparams in spec.metrics:
        if name in ("accuracy", "top_k_accuracy") and loss.name not in _CLASSIFICATION:
            continue
        if name == "top_k_accuracy" and loss.name == "binary_crossentropy":
            continue
        if name in ("accuracy", "top_k_accuracy", "mae", "mse"):
            metrics.append((name, dict(mparams)))
    return Task(loss.name, dict(loss.params), logits, model_act, tuple(metrics))


def build_context(net: Network, backend: str, config: Mapping[str, Any] | None) -> Context:
    """Resolves ``net`` for ``config`` (missing values take the single-run defaults).

    Raises:
      NeuralValidationError: the configuration gives a layer an input it cannot take.
      BackendError: a value the plan cannot resolve (e.g. a layer-choice index out of range).
      TrainConfigError: an unknown loss, optimizer or schedule argument.
    """
    from neural_jax.ir.checker import infer_shapes
    from neural_jax.ir.plan import constant_plan, plan_network
    from neural_jax.train.spec import bind_config, training_spec

    full = bind_config(net, config)
    infer_shapes(net, full)  # a configuration the checker rejects fails here, with its message
    plan = constant_plan(plan_network(net, full))
    spec = training_spec(net, full)
    input_shape = tuple(net.input_shape)
    output_shape = walk_shapes(plan.layers, input_shape)
    vocab = None
    if plan.layers and plan.layers[0].type == "Embedding":
        vocab = int(plan.layers[0].arg("input_dim"))
    return Context(net, backend, full, plan, spec, _task(plan, spec), input_shape,
                   output_shape, vocab)
