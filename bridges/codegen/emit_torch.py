"""PyTorch model code: one emitter per layer kind, an ``nn.Module`` with named submodules.

``TORCH`` maps every name of :data:`neural_jax.ir.registry.LAYERS` to an emitter
``emit(plan, shape, ctx) -> Mod``: the module expression and the activation applied after
it. ``shape`` is the layer's input shape without the batch axis; sizes torch needs at
construction (``in_features``, channels) come from it.

Tensors stay channel-last between layers, as in the DSL, so ``Flatten`` and ``Reshape``
keep Keras' element order; channel-first torch layers (convolutions, pooling, BatchNorm on
images, GroupNorm, spatial dropout) run inside the ``ChannelLast`` helper. Padding follows
TensorFlow: "same" pads ``max((ceil(n/s) - 1) s + k' - n, 0)`` in total with the odd element
at the end, "causal" pads ``k' - 1`` in front (``k' = d (k - 1) + 1``); where torch's
symmetric padding cannot express that, the helper pads explicitly (see
:mod:`bridges.codegen.emit_torch_conv`). Recurrent layers use torch's fused layers when
they can, else the ``KerasRNN`` helper (any activation, ``recurrent_dropout``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bridges.codegen.context import Context, layer_name, lit, out_shape
from bridges.codegen.emit_torch_conv import (
    conv,
    conv_transpose,
    global_pool,
    pool,
    size,
    wrap,
)
from bridges.codegen.source import Call, indent
from bridges.codegen.torch_helpers import helper_source
from bridges.codegen.torch_mod import ACTIVATIONS, FUNCTIONS, Mod
from bridges.errors import unsupported
from neural_jax.ir.backend import fixed, lookup_rule, rule_table
from neural_jax.ir.plan import LayerPlan
from neural_jax.ir.registry import LAYERS, LayerSpec
from neural_jax.ir.wrappers import failure, merge_mode, wrapped

__all__ = ["BUILDERS", "TORCH", "Mod", "model_source"]

Emitter = Callable[[LayerPlan, tuple, Context], Mod]


def _dense(p, shape, ctx):
    bias = None if p.arg("use_bias", True) else "False"
    return Mod(Call("nn.Linear", [lit(shape[-1]), lit(p.arg("units"))], {"bias": bias}),
               p.arg("activation"))


def _plain(expr: str, helper: str | None = None):
    def emit(p, shape, ctx):
        if helper:
            ctx.helpers.add(helper)
        return Mod(expr.format(**dict(p.args), c=shape[-1] if shape else None))

    return emit


def _reshape(p, shape, ctx):
    ctx.helpers.add("Reshape")
    return Mod(Call("Reshape", [lit(tuple(out_shape(p, shape)))]))


def _channel_op(layer: str, one_d: str | None = None):
    """A per-channel layer: applied directly on (batch, C), else inside ChannelLast."""

    def emit(p, shape, ctx):
        a = dict(p.args)
        n = len(shape) - 1
        text = layer.format(n=max(n, 1), c=shape[-1], **a)
        if n == 0:
            return Mod(text if one_d is None else one_d.format(c=shape[-1], **a))
        ctx.helpers.add("ChannelLast")
        return Mod(Call("ChannelLast", [text]))

    return emit


def _batch_norm(p, shape, ctx):
    a = dict(p.args)
    n = max(len(shape) - 1, 1)
    layer = Call(f"nn.BatchNorm{n}d", [lit(shape[-1])], {
        "eps": lit(a.get("epsilon", 1e-3)),
        "momentum": lit(round(1.0 - a.get("momentum", 0.99), 12))})  # torch: 1 - Keras'
    if len(shape) == 1:
        return Mod(layer)
    ctx.helpers.add("ChannelLast")
    return Mod(wrap(layer))


def _rnn_args(p: LayerPlan) -> tuple[str, bool]:
    act = p.arg("activation", "tanh")
    fused = p.arg("recurrent_dropout", 0.0) == 0 and (
        act == "tanh" or (p.type == "SimpleRNN" and act == "relu"))
    return act, fused


def _fused(p: LayerPlan, features, bidirectional: bool) -> Call:
    act, _ = _rnn_args(p)
    kw = {"batch_first": "True", "bidirectional": "True" if bidirectional else None}
    if p.type == "SimpleRNN":
        return Call("nn.RNN", [lit(features), lit(p.arg("units"))],
                    {"nonlinearity": lit(act) if act != "tanh" else None, **kw})
    return Call(f"nn.{p.type}", [lit(features), lit(p.arg("units"))], kw)


def _keras_rnn(p: LayerPlan, features, ctx, reverse: bool = False) -> Call:
    ctx.helpers.add("KerasRNN")
    act = p.arg("activation", "tanh")
    return Call("KerasRNN", [lit(p.type), lit(features), lit(p.arg("units"))], {
        "activation": FUNCTIONS[act] if act != "tanh" else None,
        "return_sequences": "True" if p.arg("return_sequences") else None,
        "dropout": lit(p.arg("dropout")) if p.arg("dropout", 0.0) else None,
        "recurrent_dropout": (lit(p.arg("recurrent_dropout"))
                              if p.arg("recurrent_dropout", 0.0) else None),
        "reverse": "True" if reverse else None})


def _recurrent(p, shape, ctx):
    _, fused = _rnn_args(p)
    if not fused:
        return Mod(_keras_rnn(p, shape[-1], ctx))
    ctx.helpers.add("Recurrent")
    return Mod(Call("Recurrent", [_fused(p, shape[-1], False)], {
        "return_sequences": "True" if p.arg("return_sequences") else None,
        "dropout": lit(p.arg("dropout")) if p.arg("dropout", 0.0) else None}))


def _bidirectional(p, shape, ctx):
    fail = failure(p, "pytorch")
    inner = wrapped(p, fail)
    merge = merge_mode(p, fail)
    if not _rnn_args(inner)[1]:
        ctx.helpers.add("Bidirectional")
        return Mod(Call("Bidirectional", [_keras_rnn(inner, shape[-1], ctx),
                                          _keras_rnn(inner, shape[-1], ctx, reverse=True)],
                        {"merge_mode": lit(merge) if merge != "concat" else None}))
    ctx.helpers.add("Recurrent")
    return Mod(Call("Recurrent", [_fused(inner, shape[-1], True)], {
        "return_sequences": "True" if inner.arg("return_sequences") else None,
        "merge_mode": lit(merge) if merge != "concat" else None,
        "dropout": lit(inner.arg("dropout")) if inner.arg("dropout", 0.0) else None}))


def _time_distributed(p, shape, ctx):
    ctx.helpers.add("TimeDistributed")
    inner = emit(wrapped(p, failure(p, "pytorch")), shape[1:], ctx)
    return Mod(Call("TimeDistributed", [inner.single()]))


def _attention(p, shape, ctx):
    ctx.helpers.add("SelfAttention")
    rate = p.arg("dropout", 0.0)
    return Mod(Call("SelfAttention", [lit(shape[-1]), lit(p.arg("num_heads")),
                                      lit(p.arg("key_dim"))],
                    {"dropout": lit(rate) if rate else None}))


def _sequential(plans, shape, ctx) -> Call:
    items: list = []
    for q in plans:
        items += emit(q, shape, ctx).items()
        shape = out_shape(q, shape)
    return Call("nn.Sequential", items)


def _transformer(p, shape, ctx):
    ctx.helpers.add("TransformerEncoder")
    act = p.arg("activation", "relu")
    kw = {"dropout": lit(p.arg("dropout", 0.1)),
          "activation": ACTIVATIONS[act][0] if act != "relu" else None}
    if p.block is not None:
        kw["ffn"] = _sequential(p.block, shape, ctx)
    return Mod(Call("TransformerEncoder", [lit(shape[-1]), lit(p.arg("num_heads")),
                                           lit(p.arg("ff_dim"))], kw))


def _residual(p, shape, ctx):
    ctx.helpers.add("Residual")
    out = out_shape(p, shape)
    kw = {}
    if tuple(out) != tuple(shape):
        if len(shape) == 1:
            kw["projection"] = Call("nn.Linear", [lit(shape[-1]), lit(out[-1])])
        else:
            ctx.helpers.add("ChannelLast")
            n = len(shape) - 1
            strides = tuple(math.ceil(a / b) for a, b in zip(shape[:-1], out[:-1]))
            conv = Call(f"nn.Conv{n}d", [lit(shape[-1]), lit(out[-1]), "1"],
                        {"stride": size(strides) if set(strides) != {1} else None})
            kw["projection"] = wrap(conv)
    return Mod(Call("Residual", [_sequential(p.block, shape, ctx)], kw))


def _positional(p, shape, ctx):
    ctx.helpers.add("PositionalEmbedding")
    return Mod(Call("PositionalEmbedding", [lit(p.arg("max_len")), lit(shape[-1])]))


def _spatial_dropout(n: int):
    def emit(p, shape, ctx):
        ctx.helpers.add("ChannelLast")
        return Mod(wrap(Call(f"nn.Dropout{n}d", [lit(p.arg("rate"))])))

    return emit


def _conv_family(n: int, mode: str = "conv") -> Emitter:
    return conv_transpose if mode == "transpose" else conv(n, mode)


#: family of :data:`neural_jax.ir.registry.LAYERS` -> ``builder(**variant) -> emitter``
BUILDERS: dict[str, Callable[..., Emitter]] = {
    "dense": fixed(_dense),
    "dropout": fixed(_plain("nn.Dropout({rate!r})")),
    "flatten": fixed(_plain("nn.Flatten()")),
    "reshape": fixed(_reshape),
    "activation": fixed(lambda p, shape, ctx: Mod(ACTIVATIONS[p.arg("function")][0])),
    "embedding": fixed(_plain("nn.Embedding({input_dim}, {output_dim})")),
    "conv": _conv_family,
    "separable_conv": lambda: conv(2, "separable"),
    "pool": lambda n, kind: pool(n, kind),
    "global_pool": lambda n, kind: global_pool(kind),
    "batch_norm": fixed(_batch_norm),
    "layer_norm": fixed(_plain("nn.LayerNorm({c}, eps={epsilon!r})")),
    "group_norm": fixed(_channel_op("nn.GroupNorm({groups}, {c}, eps={epsilon!r})")),
    "rnn": fixed(_recurrent),
    "bidirectional": fixed(_bidirectional),
    "attention": fixed(_attention),
    "transformer": fixed(_transformer),
    "positional": fixed(_positional),
    "residual": fixed(_residual),
    "time_distributed": fixed(_time_distributed),
    "gaussian_noise": fixed(_plain("GaussianNoise({stddev!r})", "GaussianNoise")),
    "spatial_dropout": _spatial_dropout,
}
TORCH: dict[str, Emitter] = rule_table(BUILDERS)


def _writes_size(spec: LayerSpec) -> bool:
    """Whether the emitted source holds the input's feature size: the layer's weights
    depend on it, a structure layer sizes its projection or inner layer from it, or a
    Reshape writes its output shape."""
    return (spec.needs_features or spec.group == "structure"
            or spec.param("target_shape") is not None)


def emit(p: LayerPlan, shape: tuple, ctx: Context) -> Mod:
    """The module of one layer.

    Raises:
      BackendError: torch needs a feature size that the input shape leaves unknown.
    """
    if shape and shape[-1] is None and _writes_size(LAYERS[p.type]):
        raise unsupported(p, "pytorch", "torch layers need the input's feature size, which "
                          "is unknown (None) here", "give the input shape in full")
    return lookup_rule(TORCH, p, "pytorch", "the PyTorch code generator")(p, shape, ctx)


def model_source(ctx: Context) -> tuple[list[str], str]:
    """The helper sources and the ``Model`` class for the network."""
    init, forward = [], []
    shape = ctx.input_shape
    for p in ctx.plan.layers:
        mod = emit(p, shape, ctx)
        name = layer_name(p)
        init.append(mod.expr.render(8, f"self.{name} = ") if isinstance(mod.expr, Call)
                    else f"self.{name} = {mod.expr}")
        call = f"self.{name}(x)"
        if mod.act not in (None, "linear"):
            call = ACTIVATIONS[mod.act][1].format(x=call)
        forward.append(f"x = {call}")
        shape = out_shape(p, shape)
    init.append("self.apply(keras_init)")
    act = ctx.task.model_activation
    if act is not None:
        forward.append(f"x = {ACTIVATIONS[act][1].format(x='x')}")
    elif ctx.plan.final_activation is not None:
        forward.append(f"# x holds logits: the loss applies the {ctx.plan.final_activation}.")
    forward.append("return x")
    cls = "\n".join([
        "class Model(nn.Module):",
        f'    """{ctx.net.name} as a torch module; it takes channel-last input like the DSL."""',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        indent("\n".join(init), 8),
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        indent("\n".join(forward), 8),
    ])
    return helper_source(ctx.helpers | {"keras_init"}), cls
