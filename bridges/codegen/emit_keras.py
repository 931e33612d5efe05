"""Keras 3 (TensorFlow) model code: one emitter per layer kind, a functional model.

``KERAS`` maps every name of :data:`neural_jax.ir.registry.LAYERS` to an emitter
``emit(plan, shape, ctx, var) -> Call | list[str]``: a :class:`Call` is a Keras layer
applied as ``var = layer(var)``; a list of lines is inline functional code that reads and
writes ``var`` (residual blocks, transformer blocks). ``shape`` is the layer's input shape
without the batch axis.

Keras has every layer of the DSL except three, written inline or as a helper:
ResidualConnection (``block(x) + x`` with the JAX backend's 1x1 projection shortcut when the
shapes differ: a Dense for flat input, else a 1x1 convolution with stride
``ceil(n_in / n_out)``), TransformerEncoder (KerasHub's post-norm block, layer-norm epsilon
1e-5, head size ``features // num_heads``) and PositionalEmbedding (a learned table added to
the input).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bridges.codegen.context import Context, layer_name, lit, out_shape
from bridges.codegen.source import Call, indent
from bridges.errors import unsupported
from neural_jax.ir.backend import fixed, lookup_rule, rule_table
from neural_jax.ir.plan import LayerPlan
from neural_jax.ir.wrappers import failure, merge_mode, wrapped

__all__ = ["BUILDERS", "KERAS", "model_source"]

Emitter = Callable[[LayerPlan, tuple, Context, str], "Call | list[str]"]
_COL = 4  # statements of build_model() start at this column

POSITIONAL_EMBEDDING = '''\
class PositionalEmbedding(layers.Layer):
    """Adds a learned vector to each position (the DSL's PositionalEmbedding)."""

    def __init__(self, max_len: int, **kwargs):
        super().__init__(**kwargs)
        self.max_len = max_len

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.max_len, input_shape[-1]), initializer="glorot_uniform",
            name="embeddings")

    def call(self, x):
        return x + self.embeddings[: x.shape[1]]'''


def _name(p: LayerPlan) -> str:
    return lit(layer_name(p))


def _kw(p: LayerPlan, *names: str, defaults: dict | None = None) -> dict[str, str]:
    """Keyword arguments that differ from the Keras defaults."""
    base = {"strides": 1, "padding": "valid", "dilation_rate": 1, "activation": None,
            "use_bias": True, "depth_multiplier": 1, "return_sequences": False,
            "dropout": 0.0, "recurrent_dropout": 0.0, "merge_mode": "concat",
            **(defaults or {})}
    out = {}
    for n in names:
        v = p.arg(n, base.get(n))
        if v != base.get(n) and not (isinstance(v, tuple) and set(v) == {base.get(n)}):
            out[n] = lit(v)
    return out


def _dense(p, shape, ctx, var):
    kw = _kw(p, "activation", "use_bias")
    return Call("layers.Dense", [lit(p.arg("units"))], {**kw, "name": _name(p)})


def _simple(cls: str, *pos: str, kw: tuple[str, ...] = (), defaults: dict | None = None):
    def emit(p, shape, ctx, var):
        args = [lit(p.arg(n)) for n in pos]
        return Call(f"layers.{cls}", args, {**_kw(p, *kw, defaults=defaults), "name": _name(p)})

    return emit


def _strided_dilation(p: LayerPlan) -> bool:
    s, d = p.arg("strides", 1), p.arg("dilation_rate", 1)
    s = s if isinstance(s, tuple) else (s,)
    d = d if isinstance(d, tuple) else (d,)
    return max(s) > 1 and max(d) > 1


def _conv(cls: str, depthwise: bool = False):
    def emit(p, shape, ctx, var):
        if _strided_dilation(p):
            raise unsupported(p, "tensorflow", "Keras convolutions cannot combine strides > 1 "
                              "with dilation_rate > 1", "use strides=1 or dilation_rate=1")
        pos = [lit(p.arg("kernel_size"))] if depthwise else [lit(p.arg("filters")),
                                                            lit(p.arg("kernel_size"))]
        kw = _kw(p, "strides", "padding", "depth_multiplier", "dilation_rate", "activation",
                 "use_bias")
        return Call(f"layers.{cls}", pos, {**kw, "name": _name(p)})

    return emit


def _pool(cls: str):
    def emit(p, shape, ctx, var):
        kw = {"strides": lit(p.arg("strides"))} if p.arg("strides") is not None else {}
        kw.update(_kw(p, "padding"))
        return Call(f"layers.{cls}", [lit(p.arg("pool_size", 2))], {**kw, "name": _name(p)})

    return emit


def _recurrent(p, shape, ctx, var):
    kw = _kw(p, "return_sequences", "dropout", "recurrent_dropout")
    if p.arg("activation", "tanh") != "tanh":
        kw["activation"] = lit(p.arg("activation"))
    return Call(f"layers.{p.type}", [lit(p.arg("units"))], {**kw, "name": _name(p)})


def _inner(p: LayerPlan, shape, ctx) -> Call:
    inner = wrapped(p, failure(p, "tensorflow"))
    code = _emitter(inner)(inner, shape, ctx, "x")
    if not isinstance(code, Call):
        raise unsupported(p, "tensorflow", f"{p.type} cannot wrap {inner.type} in Keras",
                          "wrap a single layer")
    return code


def _bidirectional(p, shape, ctx, var):
    merge_mode(p, failure(p, "tensorflow"))
    kw = _kw(p, "merge_mode")
    return Call("layers.Bidirectional", [_inner(p, shape, ctx)], {**kw, "name": _name(p)})


def _time_distributed(p, shape, ctx, var):
    return Call("layers.TimeDistributed", [_inner(p, shape[1:], ctx)], {"name": _name(p)})


def _attention(p, shape, ctx, var):
    kw = {"num_heads": lit(p.arg("num_heads")), "key_dim": lit(p.arg("key_dim")),
          **_kw(p, "dropout"), "name": _name(p)}
    return [Call("layers.MultiHeadAttention", [], kw).render(_COL, f"{var} = ",
                                                            f"({var}, {var})")]


def _positional(p, shape, ctx, var):
    ctx.helpers.add("PositionalEmbedding")
    return Call("PositionalEmbedding", [lit(p.arg("max_len"))], {"name": _name(p)})


def _transformer(p, shape, ctx, var):
    name, f, heads = layer_name(p), shape[-1], p.arg("num_heads")
    rate = lit(p.arg("dropout", 0.1))
    lines = [f"# {p.type} (post-norm, as KerasHub's): self-attention, then feed-forward."]
    mha = Call("layers.MultiHeadAttention", [lit(heads), lit(f // heads)],
               {"dropout": rate, "name": lit(name + "_attention")})
    lines.append(mha.render(_COL, "attention = ", f"({var}, {var})"))
    lines.append(Call("layers.Dropout", [rate], {"name": lit(name + "_attention_dropout")})
                 .render(_COL, "attention = ", "(attention)"))
    lines.append(Call("layers.LayerNormalization", [], {
        "epsilon": "1e-5", "name": lit(name + "_attention_norm")}).render(
        _COL, f"{var} = ", f"({var} + attention)"))
    lines.append(f"ffn = {var}")
    if p.block is not None:
        lines += emit_layers(p.block, shape, ctx, "ffn")
    else:
        lines.append(Call("layers.Dense", [lit(p.arg("ff_dim"))], {
            **_kw(p, "activation"), "name": lit(name + "_ffn_1")}).render(_COL, "ffn = ",
                                                                          "(ffn)"))
        lines.append(Call("layers.Dense", [lit(f)], {"name": lit(name + "_ffn_2")}).render(
            _COL, "ffn = ", "(ffn)"))
    lines.append(Call("layers.Dropout", [rate], {"name": lit(name + "_ffn_dropout")})
                 .render(_COL, "ffn = ", "(ffn)"))
    lines.append(Call("layers.LayerNormalization", [], {
        "epsilon": "1e-5", "name": lit(name + "_ffn_norm")}).render(
        _COL, f"{var} = ", f"({var} + ffn)"))
    return lines


def _residual(p, shape, ctx, var):
    name = layer_name(p)
    short = "shortcut_" + name.rsplit("_", 1)[-1] if name[-1].isdigit() else "shortcut"
    out = out_shape(p, shape)
    lines = [f"{short} = {var}  # {p.type}: block({var}) + {var}"]
    lines += emit_layers(p.block, shape, ctx, var)
    if tuple(out) != tuple(shape):
        cout = out[-1]
        if len(shape) == 1:
            proj = Call("layers.Dense", [lit(cout)], {"name": lit(name + "_projection")})
        else:
            n = len(shape) - 1
            strides = tuple(math.ceil(a / b) for a, b in zip(shape[:-1], out[:-1]))
            proj = Call(f"layers.Conv{n}D", [lit(cout), "1"], {
                "strides": lit(strides) if set(strides) != {1} else None,
                "name": lit(name + "_projection")})
        lines.append("# The shapes differ: a 1x1 projection makes the shortcut match.")
        lines.append(proj.render(_COL, f"{short} = ", f"({short})"))
    lines.append(Call("layers.Add", [], {"name": lit(name)}).render(
        _COL, f"{var} = ", f"([{var}, {short}])"))
    return lines


def _conv_family(n: int, mode: str | None = None) -> Emitter:
    if mode == "transpose":
        return _conv(f"Conv{n}DTranspose")
    if mode == "depthwise":
        return _conv(f"DepthwiseConv{n}D", depthwise=True)
    return _conv(f"Conv{n}D")


#: family of :data:`neural_jax.ir.registry.LAYERS` -> ``builder(**variant) -> emitter``
BUILDERS: dict[str, Callable[..., Emitter]] = {
    "dense": fixed(_dense),
    "dropout": fixed(_simple("Dropout", "rate")),
    "flatten": fixed(_simple("Flatten")),
    "reshape": fixed(_simple("Reshape", "target_shape")),
    "activation": fixed(_simple("Activation", "function")),
    "embedding": fixed(_simple("Embedding", "input_dim", "output_dim")),
    "conv": _conv_family,
    "separable_conv": lambda: _conv("SeparableConv2D"),
    "pool": lambda n, kind: _pool(f"{kind.title()}Pooling{n}D"),
    "global_pool": lambda n, kind: _simple(f"Global{kind.title()}Pooling{n}D"),
    "batch_norm": fixed(_simple("BatchNormalization", kw=("momentum", "epsilon"),
                                 defaults={"momentum": 0.99, "epsilon": 1e-3})),
    "layer_norm": fixed(_simple("LayerNormalization", kw=("epsilon",),
                                 defaults={"epsilon": 1e-3})),
    "group_norm": fixed(_simple("GroupNormalization", kw=("groups", "epsilon"),
                                 defaults={"groups": 32, "epsilon": 1e-3})),
    "rnn": fixed(_recurrent),
    "bidirectional": fixed(_bidirectional),
    "attention": fixed(_attention),
    "transformer": fixed(_transformer),
    "positional": fixed(_positional),
    "residual": fixed(_residual),
    "time_distributed": fixed(_time_distributed),
    "gaussian_noise": fixed(_simple("GaussianNoise", "stddev")),
    "spatial_dropout": lambda n: _simple(f"SpatialDropout{n}D", "rate"),
}
KERAS: dict[str, Emitter] = rule_table(BUILDERS)


def _emitter(p: LayerPlan) -> Emitter:
    return lookup_rule(KERAS, p, "tensorflow", "the Keras code generator")


def emit_layers(plans, shape: tuple, ctx: Context, var: str = "x") -> list[str]:
    """Functional code applying ``plans`` to the tensor named ``var``."""
    lines: list[str] = []
    for p in plans:
        code = _emitter(p)(p, shape, ctx, var)
        if isinstance(code, Call):
            lines.append(code.render(_COL, f"{var} = ", f"({var})"))
        else:
            lines.extend(code)
        shape = out_shape(p, shape)
    return lines


def model_source(ctx: Context) -> str:
    """Helper classes and ``build_model()`` for the network."""
    dtype = ', dtype="int32"' if ctx.vocab_size is not None else ""
    body = [f'inputs = keras.Input(shape=INPUT_SHAPE{dtype}, name="inputs")', "x = inputs"]
    body += emit_layers(ctx.plan.layers, ctx.input_shape, ctx)
    act = ctx.task.model_activation
    if act is not None:
        body.append(f'x = layers.Activation("{act}", name="{act}")(x)')
    elif ctx.plan.final_activation is not None:
        body.append(f"# x holds logits: the loss applies the {ctx.plan.final_activation} "
                    "(from_logits=True).")
    body.append(f"return keras.Model(inputs, x, name={lit(ctx.net.name)})")
    fn = ("def build_model() -> keras.Model:\n"
          f'    """{ctx.net.name} as a Keras functional model (channel-last input)."""\n'
          + indent("\n".join(body), 4))
    parts = [POSITIONAL_EMBEDDING] if "PositionalEmbedding" in ctx.helpers else []
    return "\n\n\n".join(parts + [fn])
