"""The loss and metric functions of the PyTorch and JAX scripts.

Both follow :mod:`neural_jax.train.losses` (Keras semantics): a batch mean of per-example
losses; cross-entropies from logits when the model returns logits (a softmax/sigmoid Output
or ``from_logits=True``), otherwise from probabilities clipped to ``[1e-7, 1 - 1e-7]``
(class probabilities normalised to sum to one first, as Keras does); label smoothing
``y (1 - s) + s / C`` (binary: ``s / 2``); Huber with its ``delta``. Keras' loss is not
scaled by the number of output elements, so for sequence outputs the mean runs over every
position, as the JAX trainer's does.
"""

from __future__ import annotations

from bridges.codegen.context import Context, lit
from bridges.codegen.source import indent

__all__ = ["loss_source", "metrics_source"]

_EPS = "1e-7"


def _smooth(ctx: Context, jax: bool, binary: bool) -> list[str]:
    s = ctx.task.params.get("label_smoothing", 0.0)
    if not s:
        return []
    classes = "2" if binary else "outputs.shape[-1]"
    return [f"targets = targets * (1.0 - {lit(s)}) + {lit(s)} / {classes}  # label smoothing"]


def _torch_loss(ctx: Context) -> list[str]:
    t = ctx.task
    if t.loss == "sparse_categorical_crossentropy":
        if t.from_logits:
            return [("return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), "
                    "targets.reshape(-1))")]
        return ["probs = outputs / outputs.sum(dim=-1, keepdim=True).clamp_min(1e-7)",
                f"log_probs = probs.clamp({_EPS}, 1.0 - {_EPS}).log()",
                ("return F.nll_loss(log_probs.reshape(-1, outputs.shape[-1]), "
                "targets.reshape(-1))")]
    if t.loss == "categorical_crossentropy":
        lines = _smooth(ctx, False, False)
        if t.from_logits:
            lines.append("log_probs = F.log_softmax(outputs, dim=-1)")
        else:
            lines += ["probs = outputs / outputs.sum(dim=-1, keepdim=True).clamp_min(1e-7)",
                      f"log_probs = probs.clamp({_EPS}, 1.0 - {_EPS}).log()"]
        return lines + ["return -(targets * log_probs).sum(dim=-1).mean()"]
    if t.loss == "binary_crossentropy":
        lines = _smooth(ctx, False, True)
        if t.from_logits:
            return lines + ["return F.binary_cross_entropy_with_logits(outputs, targets)"]
        return lines + [(f"return F.binary_cross_entropy(outputs.clamp({_EPS}, 1.0 - {_EPS}), "
                        "targets)")]
    if t.loss == "mse":
        return ["return F.mse_loss(outputs, targets)"]
    if t.loss == "mae":
        return ["return F.l1_loss(outputs, targets)"]
    return [f"return F.huber_loss(outputs, targets, delta={lit(t.params['delta'])})"]


def _jax_loss(ctx: Context) -> list[str]:
    t = ctx.task
    probs = ["probs = outputs / jnp.maximum(outputs.sum(axis=-1, keepdims=True), 1e-7)",
             f"log_probs = jnp.log(jnp.clip(probs, {_EPS}, 1.0 - {_EPS}))"]
    if t.loss == "sparse_categorical_crossentropy":
        if t.from_logits:
            return [("return optax.softmax_cross_entropy_with_integer_labels(outputs, "
                    "targets).mean()")]
        return probs + ["picked = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)",
                        "return -picked.mean()"]
    if t.loss == "categorical_crossentropy":
        lines = _smooth(ctx, True, False)
        if t.from_logits:
            return lines + ["return optax.softmax_cross_entropy(outputs, targets).mean()"]
        return lines + probs + ["return -(targets * log_probs).sum(axis=-1).mean()"]
    if t.loss == "binary_crossentropy":
        lines = _smooth(ctx, True, True)
        if t.from_logits:
            return lines + ["return optax.sigmoid_binary_cross_entropy(outputs, targets).mean()"]
        return lines + [f"p = jnp.clip(outputs, {_EPS}, 1.0 - {_EPS})",
                        "return -(targets * jnp.log(p) + (1.0 - targets) * jnp.log1p(-p)).mean()"]
    if t.loss == "mse":
        return ["return jnp.mean((outputs - targets) ** 2)"]
    if t.loss == "mae":
        return ["return jnp.mean(jnp.abs(outputs - targets))"]
    return [f"return optax.huber_loss(outputs, targets, delta={lit(t.params['delta'])}).mean()"]


def loss_source(ctx: Context, jax: bool) -> str:
    """``def loss_fn(outputs, targets)``: the DSL's loss as a batch mean."""
    t = ctx.task
    what = "logits" if t.from_logits else "the model's outputs"
    params = ", ".join(f"{k}={lit(v)}" for k, v in t.params.items() if v)
    doc = f'"""The DSL\'s loss, {t.loss}{f"({params})" if params else ""}, from {what}."""'
    body = [doc, *(_jax_loss(ctx) if jax else _torch_loss(ctx))]
    typ = "jax.Array" if jax else "torch.Tensor"
    return (f"def loss_fn(outputs: {typ}, targets: {typ}) -> {typ}:\n"
            + indent("\n".join(body), 4))


def _metric(ctx: Context, name: str, params: dict, jax: bool) -> list[str]:
    """Statements adding one metric to the dict ``metrics`` (batch means)."""
    t = ctx.task
    m = "jnp" if jax else "torch"
    axis = "axis=-1" if jax else "dim=-1"
    mean = ".mean()" if jax else ".float().mean()"
    labels = (f"targets.argmax({axis})" if t.loss == "categorical_crossentropy"
              else "targets")
    if name == "accuracy":
        if t.loss == "binary_crossentropy":
            thr = "0.0" if t.from_logits else "0.5"
            return [f'metrics["accuracy"] = ((outputs > {thr}) == (targets > 0.5)){mean}']
        return [f'metrics["accuracy"] = (outputs.argmax({axis}) == {labels}){mean}']
    if name == "top_k_accuracy":
        k = int(params.get("k", 5))
        top = (f"jax.lax.top_k(outputs, {k})[1]" if jax
               else f"outputs.topk({k}, dim=-1).indices")
        last = "[..., None]" if jax else ".unsqueeze(-1)"
        return [f"top_{k} = {top}  # the {k} highest-scoring classes",
                f'metrics["top_{k}_accuracy"] = (top_{k} == {labels}{last}).any({axis}){mean}']
    if name == "mae":
        return [f'metrics["mae"] = {m}.abs(outputs - targets).mean()']
    if name == "mse":
        return ['metrics["mse"] = ((outputs - targets) ** 2).mean()']
    return []


def metrics_source(ctx: Context, jax: bool) -> str:
    """``def metrics_fn(outputs, targets)``: the loss and the DSL's metrics of one batch."""
    typ = "jax.Array" if jax else "torch.Tensor"
    lines = ['"""The loss and the DSL\'s metrics on one batch (batch means)."""',
             'metrics = {"loss": loss_fn(outputs, targets)}']
    for name, params in ctx.task.metrics:
        lines += _metric(ctx, name, params, jax)
    lines.append("return metrics")
    return (f"def metrics_fn(outputs: {typ}, targets: {typ}) -> dict[str, {typ}]:\n"
            + indent("\n".join(lines), 4))
