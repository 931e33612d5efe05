"""The IR -> Flax model: :func:`build_model` and the functional :class:`Model` it returns.

A :class:`Model` is a pair of pure functions over pytrees::

    model = build_model(net, config)
    variables = model.init(key, x)            # {"params": ..., "batch_stats": ...}
    y, state = model.apply(variables, x, train=True, rng=key, hparams={path: scalar})

``config`` fixes the structure (every shape-affecting HPO value); ``hparams`` carries the
per-call values (``model.dynamic_paths``), so ``jax.vmap`` over ``(variables, hparams, rng)``
trains a population whose members differ in dropout rates, noise, momentum or activation
choice with one compilation. ``apply`` returns the Output layer's pre-activation logits
when its activation is softmax or sigmoid (``model.final_activation``), which is what
:func:`neural_jax.train.get_loss` expects.

Build options: ``conv_impl`` (``"xla"`` or ``"patches"``, how ungrouped convolutions are
computed, :mod:`neural_jax.jax.layers_conv`) and ``pad_widths`` (HPO paths of layer widths
to build at their largest option, with each call's true width in ``hparams``; the model is
then exactly the narrow network, :mod:`neural_jax.jax.padding`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from neural_jax.ir.checker import infer_shapes
from neural_jax.ir.defaults import default_config
from neural_jax.ir.nodes import Network
from neural_jax.ir.registry import LAYERS
from neural_jax.jax.layers_conv import CONV_IMPLS
from neural_jax.jax.padding import WidthPad, embed, paddable, with_width
from neural_jax.jax.plan import BackendError, Dyn, NetworkPlan, plan_network
from neural_jax.jax.rules import Sequence

__all__ = ["Model", "build_model"]

Array = jax.Array


def _stochastic(plans) -> bool:
    for p in plans:
        if LAYERS[p.type].draws(dict(p.args)):
            return True
        if _stochastic(p.block or ()) or (p.inner is not None and _stochastic((p.inner,))):
            return True
    return False


def _scalar(v: Any, dtype) -> Array:
    """``v`` as a ``dtype`` array: numpy for a host value (no device transfer: a population
    makes these for every member), jax for a traced one."""
    if isinstance(v, (bool, int, float, np.generic, np.ndarray)):
        return np.asarray(v, dtype)
    return jnp.asarray(v, dtype)


def _as_array(d: Dyn, v: Any) -> Array:
    if d.kind == "index":
        if isinstance(v, str):
            if v.lower() not in d.options:
                raise BackendError(f"{v!r} is not an option of {d.path}",
                                   hint=f"use one of {', '.join(map(repr, d.options))}")
            v = d.options.index(v.lower())
        return _scalar(v, np.int32)
    return _scalar(v, np.float32)


@dataclass(frozen=True)
class Model:
    """A network built for one configuration (see the module docstring).

    Attributes:
      network: the IR it was built from.
      config: the full configuration used (shape-affecting values filled with defaults).
      plan: the resolved layer plans.
      module: the Flax module, called as ``module(x, hparams, train)``.
      input_shape: the input shape without the batch axis.
      output_shape: the checker's output shape without the batch axis.
      conv_impl: ``"xla"`` or ``"patches"``.
      pads: the padded widths (empty unless built with ``pad_widths``).
    """

    network: Network
    config: Mapping[str, Any]
    plan: NetworkPlan
    module: nn.Module = field(repr=False)
    input_shape: tuple
    output_shape: tuple
    conv_impl: str = "xla"
    pads: tuple[WidthPad, ...] = ()

    @property
    def final_activation(self) -> str | None:
        """``"softmax"``/``"sigmoid"`` of the Output layer (not applied by ``apply``), or None."""
        return self.plan.final_activation

    @property
    def dynamic_paths(self) -> tuple[str, ...]:
        """HPO paths whose values are per-call inputs (``hparams``)."""
        return tuple(self.plan.dynamic)

    @property
    def dynamic(self) -> Mapping[str, Dyn]:
        """Path -> :class:`Dyn` (kind ``"float"`` or ``"index"``, options, default)."""
        return self.plan.dynamic

    @property
    def stochastic(self) -> bool:
        """Whether a training call draws random numbers (and so needs ``rng``)."""
        return _stochastic(self.plan.layers)

    def hparams(self, values: Mapping[str, Any] | None = None) -> dict[str, Array]:
        """The complete per-call dict: ``values`` where given, else the defaults.

        Args:
          values: ``{path: value}``; a categorical value may be given as its option
            (``"gelu"``) or its index. Keys that are not dynamic paths are ignored.

        Returns:
          ``{path: scalar}`` for every dynamic path: float32 values, int32 indices (numpy
          scalars for host values, traced ones inside ``jit``).
        """
        values = values or {}
        out = {p: _as_array(d, values.get(p, d.default)) for p, d in self.plan.dynamic.items()}
        for pad in self.pads:
            w = values.get(pad.path, pad.width)
            if isinstance(w, int) and w not in pad.options:
                raise BackendError(f"{w!r} is not an option of {pad.path}",
                                   hint=f"use one of {', '.join(map(str, pad.options))}")
            out[pad.path] = _scalar(w, np.int32)
        return out

    def _check_input(self, x: Array) -> None:
        want = tuple(self.input_shape)
        got = tuple(x.shape[1:])
        if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            dims = ", ".join("None" if d is None else str(d) for d in want)
            raise BackendError(
                f"network '{self.network.name}' takes inputs of shape (batch, "
                f"{dims}), got {tuple(x.shape)}",
                hint="reshape the data to the network's input: shape")

    def _prepare(self, x: Array) -> Array:
        """Checks the input shape; casts non-float inputs (except token ids) to float32."""
        self._check_input(x)
        x = jnp.asarray(x)
        takes_ids = bool(self.plan.layers) and LAYERS[self.plan.layers[0].type].takes_ids
        if not takes_ids and not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.float32)
        return x

    def init(self, key: Array, x: Array,
             hparams: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Initial variables ``{"params": ..., "batch_stats": ...}`` for a sample batch ``x``.

        A width-padded model takes the true widths from ``hparams`` (default: the padded
        ones) and returns the narrow network's initial variables for ``key``, embedded
        (:func:`neural_jax.jax.padding.embed`). With traced widths every combination of
        options is initialised and the matching one selected.
        """
        x = self._prepare(x)
        if not self.pads:
            return self._plain_init(key, x)
        hp = self.hparams(hparams)
        wide = self.variable_shapes(x)["params"]
        out = None
        for combo in itertools.product(*[p.options for p in self.pads]):
            widths = {p.path: w for p, w in zip(self.pads, combo)}
            model = build_model(self.network, {**self.config, **widths}, self.conv_impl)
            narrow = model.init(key, x)
            narrow["params"] = embed(narrow["params"], wide, self.pads, widths)
            if out is None:
                out = narrow
                continue
            sel = jnp.all(jnp.asarray([hp[p] == w for p, w in widths.items()]))
            out = jax.tree.map(lambda a, b, s=sel: jnp.where(s, a, b), narrow, out)
        return out

    def _plain_init(self, key: Array, x: Array) -> dict[str, Any]:
        variables = dict(self.module.init({"params": key}, x, self.hparams(), False))
        variables.setdefault("params", {})
        variables.setdefault("batch_stats", {})
        return variables

    def variable_shapes(self, x: Array) -> dict[str, Any]:
        """The shapes and dtypes of :meth:`init`'s variables (traced abstractly, once)."""
        key = jax.ShapeDtypeStruct((2,), jnp.uint32)
        return jax.eval_shape(lambda k: self._plain_init(k, self._prepare(x)), key)

    def apply(self, variables: Mapping[str, Any], x: Array, *, train: bool = False,
              rng: Array | None = None,
              hparams: Mapping[str, Any] | None = None) -> tuple[Array, dict[str, Any]]:
        """Runs the network.

        Args:
          variables: from :meth:`init` (or a trained copy).
          x: a batch of inputs.
          train: training mode (dropout/noise active, BatchNorm uses and updates batch
            statistics). A Python bool: it selects the program.
          rng: PRNG key for the stochastic layers; needed when ``train`` and
            :attr:`stochastic`.
          hparams: per-call values by path; a missing path takes its value from the
            build configuration, else the checker's default.

        Returns:
          ``(outputs, state)``: the outputs (logits when :attr:`final_activation` is set)
          and ``{"batch_stats": ...}``, updated in training and unchanged in evaluation.
        """
        x = self._prepare(x)
        hp = self.hparams(hparams)
        if train:
            rngs = {}
            if self.stochastic:
                if rng is None:
                    raise ValueError("apply(train=True) on a network with dropout or noise "
                                     "needs rng=<a jax.random key>")
                rngs = {"dropout": rng}
            y, mutated = self.module.apply(variables, x, hp, True, rngs=rngs,
                                           mutable=["batch_stats"])
            return y, {"batch_stats": dict(mutated).get("batch_stats", {})}
        y = self.module.apply(variables, x, hp, False)
        return y, {"batch_stats": variables.get("batch_stats", {})}


def _top_level_output(rows) -> tuple:
    top = [r for r in rows if r[3] == 0]
    return tuple(top[-1][2])


def build_model(net: Network, config: Mapping[str, Any] | None = None,
                conv_impl: str = "xla", pad_widths: Iterable[str] = ()) -> Model:
    """Builds the Flax model of ``net`` for one configuration.

    Args:
      net: a network from :func:`neural_jax.parse`.
      config: ``{hpo_path: value}``. Shape-affecting values (units, filters, kernel sizes,
        layer-choice index...) fix the structure; missing ones take
        :func:`neural_jax.ir.defaults.default_config` (what the trainer uses). Values of
        dynamic paths become the defaults of ``apply``'s ``hparams``.
      conv_impl: ``"xla"`` (``lax.conv_general_dilated``) or ``"patches"`` (patches x
        matmul, and tiling pools as reshapes; faster under ``vmap`` on CPU).
      pad_widths: HPO paths of searched widths to build at their largest option, the true
        width being a per-call value (see :mod:`neural_jax.jax.padding`).

    Returns:
      A :class:`Model`.

    Raises:
      NeuralValidationError: the configuration gives a layer an input it cannot take.
      BackendError: a layer or value this backend cannot express exactly, or a width
        that cannot be padded.
      ValueError: an unknown ``conv_impl``.
    """
    from neural_jax.ir.space import search_space

    if conv_impl not in CONV_IMPLS:
        raise ValueError(f"conv_impl must be one of {', '.join(CONV_IMPLS)}, got {conv_impl!r}")
    full = {**default_config(net), **dict(config or {})}
    pads: tuple[WidthPad, ...] = ()
    if pad_widths:
        can = paddable(plan_network(net, full).layers, search_space(net))
        bad = [p for p in pad_widths if p not in can]
        if bad:
            raise BackendError(f"cannot pad {', '.join(bad)}: only a searched width of a "
                               "Dense/Conv layer followed by channel-wise layers and a Dense/"
                               f"Conv can (paddable here: {', '.join(can) or 'none'})")
        pads = tuple(can[p] for p in pad_widths)
        full.update({p.path: p.width for p in pads})
    rows = infer_shapes(net, full)
    plan = plan_network(net, full)
    if pads:
        plan = NetworkPlan(with_width(plan.layers, {p.path: p for p in pads}),
                           plan.final_activation, plan.dynamic)
    module = Sequence(plan.layers, conv_impl)
    return Model(net, full, plan, module, tuple(net.input_shape), _top_level_output(rows),
                 conv_impl, pads)
