"""The JAX/Flax script: imports, optax optimizer and schedule, loss and a jitted training loop.

The optimizer is the optax alias with the same update as :mod:`neural_jax.train.optimizers`
and Keras' defaults given explicitly (``eps=1e-7``...). Weight decay is decoupled, as in
Keras 3: the ``...w`` aliases where optax has one, else ``-lr * weight_decay * params``
added in the training step. A schedule is ``learning_rate(step)`` in ``jax.numpy``, passed
to optax. As in the JAX trainer, each epoch shuffles the training set and drops the last
partial batch; early stopping ends training once more than ``PATIENCE`` epochs in a row did
not improve ``MONITOR`` and keeps the best variables.
"""

from __future__ import annotations

from bridges.codegen import emit_flax
from bridges.codegen.context import Context, lit
from bridges.codegen.objectives import loss_source, metrics_source
from bridges.codegen.schedules import (
    OptimizerSettings,
    optimizer_settings,
    schedule_function,
)
from bridges.codegen.source import Call, indent, join_sections
from bridges.codegen.templates import (
    constants,
    data_hook,
    early_stopping_lines,
    epoch_line,
    header,
    main_block,
)

__all__ = ["script"]

_IN_LOOP_DECAY = ("SGD", "RMSprop", "Adagrad")


def _imports(body: str) -> str:
    lines = ["import argparse"]
    if "functools." in body:
        lines.append("import functools")
    if "Callable" in body:
        lines.append("from collections.abc import Callable")
    return "\n".join(lines + ["", "import flax.linen as nn", "import jax",
                              "import jax.numpy as jnp", "import numpy as np", "import optax"])


def _optimizer_call(opt: OptimizerSettings) -> Call:
    a = opt.full
    lr = "learning_rate" if opt.schedule else lit(float(a["learning_rate"]))
    wd = a.get("weight_decay")
    betas = {"b1": lit(a.get("beta_1")), "b2": lit(a.get("beta_2"))}
    name = opt.name
    if name in ("Adam", "AdamW"):
        if a.get("amsgrad"):
            parts = [Call("optax.scale_by_amsgrad", [], {**betas, "eps": lit(a["epsilon"])})]
            if wd:
                parts.append(Call("optax.add_decayed_weights", [lit(wd)]))
            parts.append(Call("optax.scale_by_learning_rate", [lr]))
            return Call("optax.chain", parts)
        fn = "optax.adamw" if wd else "optax.adam"
        return Call(fn, [lr], {**betas, "eps": lit(a["epsilon"]),
                               "weight_decay": lit(wd) if wd else None})
    if name == "SGD":
        m = a.get("momentum") or 0.0
        if m and opt.schedule is not None:
            # Keras' order: the momentum accumulates learning-rate-scaled gradients.
            return Call("optax.chain", [Call("optax.scale_by_learning_rate", [lr]), Call(
                "optax.trace", [], {"decay": lit(m), "nesterov": "True" if a.get("nesterov")
                                    else None})])
        return Call("optax.sgd", [lr], {"momentum": lit(m) if m else None,
                                        "nesterov": "True" if a.get("nesterov") else None})
    if name == "RMSprop":
        return Call("optax.rmsprop", [lr], {
            "decay": lit(a["rho"]), "eps": lit(a["epsilon"]), "eps_in_sqrt": "True",
            "centered": "True" if a.get("centered") else None,
            "momentum": lit(a["momentum"]) if a.get("momentum") else None})
    if name == "Adagrad":
        return Call("optax.adagrad", [lr], {
            "initial_accumulator_value": lit(a["initial_accumulator_value"]),
            "eps": lit(a["epsilon"])})
    if name in ("Adamax", "Nadam"):
        fn = {"Adamax": "optax.adamax", "Nadam": "optax.nadam"}[name] + ("w" if wd else "")
        return Call(fn, [lr], {**betas, "eps": lit(a["epsilon"]),
                               "weight_decay": lit(wd) if wd else None})
    return Call("optax.lion", [lr], {**betas, "weight_decay": lit(wd or 0.0)})


def _optimizer(opt: OptimizerSettings) -> str:
    body = [opt.docstring()]
    a = opt.full
    clips = []
    if a.get("clipvalue") is not None:
        clips.append(Call("optax.clip", [lit(a["clipvalue"])]))
    if a.get("global_clipnorm") is not None:
        clips.append(Call("optax.clip_by_global_norm", [lit(a["global_clipnorm"])]))
    call = _optimizer_call(opt)
    if clips:
        call = Call("optax.chain", clips + [call])
    body.append(call.render(4, "return "))
    return ("def build_optimizer() -> optax.GradientTransformation:\n"
            + indent("\n".join(body), 4))


def _grad_lines(opt: OptimizerSettings) -> list[str]:
    a = opt.full
    lines = []
    if a.get("clipnorm") is not None:
        c = lit(a["clipnorm"])
        lines += ["grads = jax.tree.map(  # clipnorm: each gradient tensor's norm",
                  f"    lambda g: g * ({c} / jnp.maximum(jnp.linalg.norm(g), {c})), grads)"]
    lines.append("updates, opt_state = tx.update(grads, opt_state, params)")
    wd = a.get("weight_decay")
    if wd and opt.name in _IN_LOOP_DECAY:
        lr = "learning_rate(opt_step)" if opt.schedule else lit(float(a["learning_rate"]))
        lines += ["updates = jax.tree.map(  # decoupled weight decay, as Keras applies it",
                  f"    lambda u, p: u - {lr} * {lit(wd)} * p, updates, params)"]
    return lines


def _train(ctx: Context, opt: OptimizerSettings) -> str:
    patience = ctx.spec.patience is not None
    step = [
        "def loss_of(params):",
        "    outputs, updates = model.apply(",
        '        {"params": params, "batch_stats": batch_stats}, x, train=True,',
        '        rngs={"dropout": key}, mutable=["batch_stats"])',
        '    return loss_fn(outputs, y), updates.get("batch_stats", batch_stats)',
        "",
        "(loss, batch_stats), grads = jax.value_and_grad(loss_of, has_aux=True)(params)",
        *_grad_lines(opt),
        "return optax.apply_updates(params, updates), batch_stats, opt_state, loss",
    ]
    body = [
        '"""Trains with the DSL\'s settings; returns the training loss of each epoch."""',
        "x_train, y_train, x_val, y_val = data",
        "key = jax.random.PRNGKey(SEED)",
        "key, init_key = jax.random.split(key)",
        "variables = model.init(init_key, jnp.asarray(x_train[:batch_size]))",
        'params, batch_stats = variables["params"], variables.get("batch_stats", {})',
        "tx = build_optimizer()",
        "opt_state = tx.init(params)",
        "",
        "@jax.jit",
        "def train_step(params, batch_stats, opt_state, x, y, key, opt_step):",
        indent("\n".join(step), 4),
        "",
        "@jax.jit",
        "def eval_step(params, batch_stats, x, y):",
        '    variables = {"params": params, "batch_stats": batch_stats}',
        "    return metrics_fn(model.apply(variables, x, train=False), y)",
        "",
        "def evaluate() -> dict[str, float]:",
        "    totals = {}",
        "    for start in range(0, len(x_val), batch_size):",
        "        xb, yb = x_val[start:start + batch_size], y_val[start:start + batch_size]",
        "        for k, v in eval_step(params, batch_stats, xb, yb).items():",
        "            totals[k] = totals.get(k, 0.0) + float(v) * len(xb)",
        '    return {f"val_{k}": v / len(x_val) for k, v in totals.items()}',
        "",
        "rng = np.random.default_rng(SEED)",
        "steps = max(len(x_train) // batch_size, 1)  # the last partial batch is dropped",
        "losses, opt_step = [], 0",
    ]
    if patience:
        body.append("best, best_variables, bad = None, None, 0")
    loop = [
        "order = rng.permutation(len(x_train))",
        "total = 0.0",
        "for i in range(steps):",
        "    index = order[i * batch_size:(i + 1) * batch_size]",
        "    key, step_key = jax.random.split(key)",
        "    params, batch_stats, opt_state, loss = train_step(",
        "        params, batch_stats, opt_state, x_train[index], y_train[index], step_key,",
        "        opt_step)",
        "    opt_step += 1",
        "    total += float(loss)",
        "losses.append(total / steps)",
        "logs = evaluate() if len(x_val) else {}",
        *epoch_line("losses[-1]", "logs"),
    ]
    if patience:
        loop += early_stopping_lines(
            ["best, bad, best_variables = score, 0, (params, batch_stats)"])
    body += ["for epoch in range(1, epochs + 1):", indent("\n".join(loop), 4)]
    if patience:
        body += ["if best_variables is not None:",
                 "    params, batch_stats = best_variables  # the best epoch's variables"]
    body += ["# params and batch_stats are the trained model: save them here to keep it.",
             "return losses"]
    return ("def train(model: nn.Module, data: tuple, epochs: int, batch_size: int)"
            " -> list[float]:\n" + indent("\n".join(body), 4))


def script(ctx: Context) -> str:
    """The whole JAX/Flax script."""
    opt = optimizer_settings(ctx.spec)
    helpers, model = emit_flax.model_source(ctx)
    parts = [constants(ctx), data_hook(ctx), *helpers, model,
             ("def build_model() -> nn.Module:\n    \"\"\"The network as a Flax module.\"\"\"\n"
             "    return Model()")]
    if opt.schedule is not None:
        parts.append(schedule_function(*opt.schedule, jax=True))
    parts += [_optimizer(opt), loss_source(ctx, jax=True), metrics_source(ctx, jax=True),
              _train(ctx, opt), main_block(ctx, [])]
    body = join_sections(parts)
    return join_sections([header(ctx), _imports(body), body.rstrip("\n")])
