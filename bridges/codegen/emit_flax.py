"""JAX/Flax model code: one emitter per layer kind, a ``flax.linen`` Module.

``FLAX`` maps every name of :data:`neural_jax.ir.registry.LAYERS` to an emitter
``emit(plan, shape, ctx, var) -> list[str]``: statements inside ``Model.__call__(x, train)``
that read and write the array named ``var``. Everything is channel-last as in the DSL, and
"SAME"/"VALID"/"CAUSAL" padding, ``count_include_pad=False`` average pooling and
``transpose_kernel=True`` transposed convolutions are what the JAX backend computes.
Stochastic layers draw from the ``"dropout"`` PRNG stream and are off when ``train`` is False.
Recurrent layers use ``nn.RNN`` with flax's cells (same gate formulas as Keras, GRU with
reset_after), or the ``KerasRNN`` helper when ``recurrent_dropout`` is set.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bridges.codegen.context import Context, layer_name, lit, out_shape
from bridges.codegen.flax_helpers import helper_source
from bridges.codegen.source import Call, indent
from neural_jax.ir.backend import fixed, lookup_rule, rule_table
from neural_jax.ir.plan import LayerPlan
from neural_jax.ir.shapes import spatial_tuple
from neural_jax.ir.wrappers import failure, merge_mode, wrapped

__all__ = ["BUILDERS", "FLAX", "model_source"]

_COL = 8  # statements of Model.__call__ start at this column

#: activation -> applied to "{x}"
ACTIVATIONS = {
    "relu": "nn.relu({x})", "gelu": "nn.gelu({x}, approximate=False)",
    "tanh": "jnp.tanh({x})", "sigmoid": "nn.sigmoid({x})", "softmax": "nn.softmax({x}, axis=-1)",
    "elu": "nn.elu({x})", "selu": "nn.selu({x})", "swish": "nn.silu({x})", "silu": "nn.silu({x})",
    "leaky_relu": "nn.leaky_relu({x}, negative_slope=0.2)", "softplus": "nn.softplus({x})",
}
#: activation -> a function expression (for cells and helpers)
FUNCTIONS = {
    "linear": "lambda v: v", "relu": "nn.relu",
    "gelu": "functools.partial(nn.gelu, approximate=False)", "tanh": "jnp.tanh",
    "sigmoid": "nn.sigmoid", "softmax": "nn.softmax", "elu": "nn.elu", "selu": "nn.selu",
    "swish": "nn.silu", "silu": "nn.silu",
    "leaky_relu": "functools.partial(nn.leaky_relu, negative_slope=0.2)",
    "softplus": "nn.softplus",
}
Emitter = Callable[[LayerPlan, tuple, Context, str], list[str]]


def _act(act: str | None, var: str) -> list[str]:
    if act in (None, "linear"):
        return []
    return [f"{var} = {ACTIVATIONS[act].format(x=var)}"]


def _apply(call: Call, var: str) -> str:
    return call.render(_COL, f"{var} = ", f"({var})")


def _name(p: LayerPlan, suffix: str = "") -> str:
    return lit(layer_name(p) + suffix)


def _drop(rate, var: str, broadcast: tuple = ()) -> list[str]:
    kw = {"broadcast_dims": lit(broadcast) if broadcast else None,
          "deterministic": "not train"}
    return [_apply(Call("nn.Dropout", [lit(rate)], kw), var)]


def _dense(p, shape, ctx, var):
    ctx.helpers.add("Dense")
    kw = {"use_bias": None if p.arg("use_bias", True) else "False", "name": _name(p)}
    return [_apply(Call("Dense", [lit(p.arg("units"))], kw), var), *_act(p.arg("activation"), var)]


def _conv(n: int, mode: str = "conv"):
    def emit(p, shape, ctx, var):
        k = spatial_tuple(p.arg("kernel_size"), n, "kernel_size")
        s = spatial_tuple(p.arg("strides", 1), n, "strides")
        d = spatial_tuple(p.arg("dilation_rate", 1), n, "dilation_rate")
        kw = {"strides": lit(s) if set(s) != {1} else None,
              "padding": lit(str(p.arg("padding", "valid")).upper()),
              "kernel_dilation": lit(d) if set(d) != {1} else None}
        bias = None if p.arg("use_bias", True) else "False"
        cin = shape[-1]
        if mode == "transpose":
            ctx.helpers.add("ConvTranspose")
            call = Call("ConvTranspose", [lit(p.arg("filters")), lit(k)],
                        {**kw, "use_bias": bias, "name": _name(p)})
            return [_apply(call, var), *_act(p.arg("activation"), var)]
        ctx.helpers.add("Conv")
        if mode == "separable":
            depthwise = Call("Conv", [lit(cin), lit(k)], {
                **kw, "feature_group_count": lit(cin), "use_bias": "False",
                "name": _name(p, "_depthwise")})
            pointwise = Call("Conv", [lit(p.arg("filters")), lit((1, 1))],
                             {"use_bias": bias, "name": _name(p, "_pointwise")})
            lines = [_apply(depthwise, var), _apply(pointwise, var)]
        elif mode == "depthwise":
            cout = cin * p.arg("depth_multiplier", 1)
            lines = [_apply(Call("Conv", [lit(cout), lit(k)], {
                **kw, "feature_group_count": lit(cin), "use_bias": bias, "name": _name(p)}), var)]
        else:
            lines = [_apply(Call("Conv", [lit(p.arg("filters")), lit(k)],
                                 {**kw, "use_bias": bias, "name": _name(p)}), var)]
        return lines + _act(p.arg("activation"), var)

    return emit


def _pool(n: int, kind: str):
    def emit(p, shape, ctx, var):
        k = spatial_tuple(p.arg("pool_size", 2), n, "pool_size")
        st = p.arg("strides")
        s = k if st is None else spatial_tuple(st, n, "strides")
        kw = {"strides": lit(s), "padding": lit(str(p.arg("padding", "valid")).upper())}
        if kind == "average":
            kw["count_include_pad"] = "False"  # "same" padding: padded cells are not counted
        fn = "nn.max_pool" if kind == "max" else "nn.avg_pool"
        return [Call(fn, [var, lit(k)], kw).render(_COL, f"{var} = ")]

    return emit


def _global_pool(kind: str):
    def emit(p, shape, ctx, var):
        axes = tuple(range(1, len(shape)))
        op = "max" if kind == "max" else "mean"
        return [f"{var} = {var}.{op}(axis={lit(axes)})  # {p.type}"]

    return emit


def _plain(template: str):
    def emit(p, shape, ctx, var):
        return [template.format(v=var, name=_name(p), **dict(p.args))]

    return emit


def _reshape(p, shape, ctx, var):
    target = out_shape(p, shape)
    return [f"{var} = {var}.reshape(({var}.shape[0],) + {lit(tuple(target))})  # Reshape"]


def _embedding(p, shape, ctx, var):
    ctx.helpers.add("embedding_init")
    return [_apply(Call("nn.Embed", [lit(p.arg("input_dim")), lit(p.arg("output_dim"))],
                        {"embedding_init": "embedding_init", "name": _name(p)}), var)]


def _norm(cls: str, **fixed: str):
    def emit(p, shape, ctx, var):
        a = dict(p.args)
        kw = dict(fixed)
        if cls == "nn.GroupNorm":
            kw["num_groups"] = lit(a.get("groups", 32))
        if cls == "nn.BatchNorm":
            kw["momentum"] = lit(a.get("momentum", 0.99))
        kw["epsilon"] = lit(a.get("epsilon", 1e-3))
        return [_apply(Call(cls, [], {**kw, "name": _name(p)}), var)]

    return emit


def _cell(p: LayerPlan) -> Call:
    cell = {"LSTM": "nn.LSTMCell", "GRU": "nn.GRUCell", "SimpleRNN": "nn.SimpleCell"}[p.type]
    act = p.arg("activation", "tanh")
    return Call(cell, [lit(p.arg("units"))], {
        "kernel_init": "glorot", "activation_fn": FUNCTIONS[act] if act != "tanh" else None})


def _keras_rnn(p: LayerPlan, ctx, reverse: bool, name: str, return_sequences) -> Call:
    ctx.helpers.add("KerasRNN")
    act = p.arg("activation", "tanh")
    return Call("KerasRNN", [lit(p.type), lit(p.arg("units"))], {
        "activation": FUNCTIONS[act] if act != "tanh" else None,
        "return_sequences": "True" if return_sequences else None,
        "dropout": lit(p.arg("dropout")) if p.arg("dropout", 0.0) else None,
        "recurrent_dropout": lit(p.arg("recurrent_dropout")),
        "reverse": "True" if reverse else None, "name": lit(name)})


def _recurrent(p, shape, ctx, var):
    ctx.helpers.add("glorot")
    if p.arg("recurrent_dropout", 0.0):
        call = _keras_rnn(p, ctx, False, layer_name(p), p.arg("return_sequences"))
        return [call.render(_COL, f"{var} = ", f"({var}, train)")]
    lines = _drop(p.arg("dropout"), var, (1,)) if p.arg("dropout", 0.0) else []
    lines.append(_apply(Call("nn.RNN", [_cell(p)], {"name": _name(p)}), var))
    if not p.arg("return_sequences", False):
        lines.append(f"{var} = {var}[:, -1]  # the last step's output")
    return lines


def _bidirectional(p, shape, ctx, var):
    ctx.helpers.add("glorot")
    fail = failure(p, "jax")
    inner, merge = wrapped(p, fail), merge_mode(p, fail)
    seq = inner.arg("return_sequences", False)
    if inner.arg("recurrent_dropout", 0.0):
        a = _keras_rnn(inner, ctx, False, layer_name(p) + "_forward", seq)
        b = _keras_rnn(inner, ctx, True, layer_name(p) + "_backward", seq)
        lines = [a.render(_COL, "forward = ", f"({var}, train)"),
                 b.render(_COL, "backward = ", f"({var}, train)")]
        first, last = "forward", "backward"
    else:
        lines = _drop(inner.arg("dropout"), var, (1,)) if inner.arg("dropout", 0.0) else []
        lines.append(Call("nn.RNN", [_cell(inner)], {"name": _name(p, "_forward")}).render(
            _COL, "forward = ", f"({var})"))
        lines.append(Call("nn.RNN", [_cell(inner)], {
            "reverse": "True", "keep_order": "True", "name": _name(p, "_backward")}).render(
            _COL, "backward = ", f"({var})"))
        first, last = ("forward", "backward") if seq else ("forward[:, -1]", "backward[:, 0]")
    merged = {"concat": f"jnp.concatenate([{first}, {last}], axis=-1)",
              "sum": f"{first} + {last}", "mul": f"{first} * {last}",
              "ave": f"({first} + {last}) / 2"}[merge]
    return lines + [f"{var} = {merged}  # merge_mode={merge!r}"]


def _time_distributed(p, shape, ctx, var):
    lines = [f"batch, steps = {var}.shape[:2]  # {p.type}: fold time into the batch",
             f"{var} = {var}.reshape((batch * steps,) + {var}.shape[2:])"]
    inner = wrapped(p, failure(p, "jax"))
    lines += _emitter(inner)(inner, shape[1:], ctx, var)
    return lines + [f"{var} = {var}.reshape((batch, steps) + {var}.shape[1:])"]


def _mha(p, shape, ctx, var, heads, key_dim, rate, name) -> Call:
    ctx.helpers.add("glorot")
    return Call("nn.MultiHeadDotProductAttention", [], {
        "num_heads": lit(heads), "qkv_features": lit(heads * key_dim),
        "out_features": lit(shape[-1]), "dropout_rate": lit(rate),
        "broadcast_dropout": "False", "kernel_init": "glorot", "deterministic": "not train",
        "name": lit(name)})


def _attention(p, shape, ctx, var):
    call = _mha(p, shape, ctx, var, p.arg("num_heads"), p.arg("key_dim"),
                p.arg("dropout", 0.0), layer_name(p))
    return [_apply(call, var)]


def _transformer(p, shape, ctx, var):
    heads, rate, name = p.arg("num_heads"), p.arg("dropout", 0.1), layer_name(p)
    if p.block is None:
        ctx.helpers.add("TransformerEncoder")
        act = p.arg("activation", "relu")
        call = Call("TransformerEncoder", [lit(heads), lit(p.arg("ff_dim"))], {
            "dropout": lit(rate), "activation": FUNCTIONS[act] if act != "relu" else None,
            "name": lit(name)})
        return [call.render(_COL, f"{var} = ", f"({var}, train)")]
    drop = f"nn.Dropout({lit(rate)}, deterministic=not train)"
    lines = [f"# {p.type} (post-norm, as KerasHub's); the DSL block is its feed-forward part.",
             _mha(p, shape, ctx, var, heads, shape[-1] // heads, rate, name + "_attention")
             .render(_COL, "attention = ", f"({var})"),
             f"attention = {drop}(attention)",
             Call("nn.LayerNorm", [], {"epsilon": "1e-5", "name": lit(name + "_attention_norm")})
             .render(_COL, f"{var} = ", f"({var} + attention)"),
             f"ffn = {var}"]
    lines += emit_layers(p.block, shape, ctx, "ffn")
    lines += [f"ffn = {drop}(ffn)",
              Call("nn.LayerNorm", [], {"epsilon": "1e-5", "name": lit(name + "_ffn_norm")})
              .render(_COL, f"{var} = ", f"({var} + ffn)")]
    return lines


def _positional(p, shape, ctx, var):
    ctx.helpers.add("glorot")
    table = f'self.param({_name(p)}, glorot, ({p.arg("max_len")}, {var}.shape[-1]))'
    return [f"positions = {table}", f"{var} = {var} + positions[: {var}.shape[1]]"]


def _residual(p, shape, ctx, var):
    name = layer_name(p)
    short = "shortcut_" + name.rsplit("_", 1)[-1] if name[-1].isdigit() else "shortcut"
    out = out_shape(p, shape)
    lines = [f"{short} = {var}  # {p.type}: block({var}) + {var}"]
    lines += emit_layers(p.block, shape, ctx, var)
    if tuple(out) != tuple(shape):
        if len(shape) == 1:
            ctx.helpers.add("Dense")
            proj = Call("Dense", [lit(out[-1])], {"name": lit(name + "_projection")})
        else:
            ctx.helpers.add("Conv")
            n = len(shape) - 1
            strides = tuple(math.ceil(a / b) for a, b in zip(shape[:-1], out[:-1]))
            proj = Call("Conv", [lit(out[-1]), lit((1,) * n)], {
                "strides": lit(strides) if set(strides) != {1} else None,
                "name": lit(name + "_projection")})
        lines.append("# The shapes differ: a 1x1 projection makes the shortcut match.")
        lines.append(proj.render(_COL, f"{short} = ", f"({short})"))
    return lines + [f"{var} = {var} + {short}"]


def _noise(p, shape, ctx, var):
    return [f"if train:  # {p.type}",
            (f'    {var} = {var} + {lit(p.arg("stddev"))} * jax.random.normal('
            f'self.make_rng("dropout"), {var}.shape)')]


def _spatial_dropout(n: int):
    def emit(p, shape, ctx, var):
        return _drop(p.arg("rate"), var, tuple(range(1, n + 1)))

    return emit


#: family of :data:`neural_jax.ir.registry.LAYERS` -> ``builder(**variant) -> emitter``
BUILDERS: dict[str, Callable[..., Emitter]] = {
    "dense": fixed(_dense),
    "dropout": fixed(lambda p, shape, ctx, var: _drop(p.arg("rate"), var)),
    "flatten": fixed(_plain("{v} = {v}.reshape(({v}.shape[0], -1))  # Flatten")),
    "reshape": fixed(_reshape),
    "activation": fixed(lambda p, shape, ctx, var: _act(p.arg("function"), var)),
    "embedding": fixed(_embedding),
    "conv": lambda n, mode="conv": _conv(n, mode),
    "separable_conv": lambda: _conv(2, "separable"),
    "pool": lambda n, kind: _pool(n, kind),
    "global_pool": lambda n, kind: _global_pool(kind),
    "batch_norm": fixed(_norm("nn.BatchNorm", use_running_average="not train")),
    "layer_norm": fixed(_norm("nn.LayerNorm")),
    "group_norm": fixed(_norm("nn.GroupNorm")),
    "rnn": fixed(_recurrent),
    "bidirectional": fixed(_bidirectional),
    "attention": fixed(_attention),
    "transformer": fixed(_transformer),
    "positional": fixed(_positional),
    "residual": fixed(_residual),
    "time_distributed": fixed(_time_distributed),
    "gaussian_noise": fixed(_noise),
    "spatial_dropout": _spatial_dropout,
}
FLAX: dict[str, Emitter] = rule_table(BUILDERS)


def _emitter(p: LayerPlan) -> Emitter:
    return lookup_rule(FLAX, p, "jax", "the Flax code generator")


def emit_layers(plans, shape: tuple, ctx: Context, var: str = "x") -> list[str]:
    """Statements applying ``plans`` to the array named ``var``."""
    lines: list[str] = []
    for p in plans:
        lines += _emitter(p)(p, shape, ctx, var)
        shape = out_shape(p, shape)
    return lines


def model_source(ctx: Context) -> tuple[list[str], str]:
    """The helper sources and the ``Model`` class for the network."""
    body = emit_layers(ctx.plan.layers, ctx.input_shape, ctx)
    act = ctx.task.model_activation
    if act is not None:
        body += _act(act, "x")
    elif ctx.plan.final_activation is not None:
        body.append(f"# x holds logits: the loss applies the {ctx.plan.final_activation}.")
    body.append("return x")
    cls = "\n".join([
        "class Model(nn.Module):",
        f'    """{ctx.net.name} as a Flax module; it takes channel-last input like the DSL."""',
        "",
        "    @nn.compact",
        "    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:",
        indent("\n".join(body), 8),
    ])
    return helper_source(ctx.helpers), cls
