"""The PyTorch script: imports, optimizer, schedule, loss and an explicit training loop.

Optimizers get Keras' defaults explicitly (``eps=1e-7``, RMSprop's ``alpha=0.9``...), since
torch's differ. Keras 3 decays weights decoupled from the gradient for every optimizer
(``theta -= lr * weight_decay * theta``): Adam/AdamW use ``torch.optim.AdamW``, the others
decay in the loop. A schedule sets each step's rate through ``learning_rate(step)``, the
formula of :mod:`neural_jax.train.schedules`. As in the JAX trainer, each epoch shuffles the
training set and drops the last partial batch; early stopping ends training once more than
``PATIENCE`` epochs in a row did not improve ``MONITOR`` and restores the best weights.
"""

from __future__ import annotations

from bridges.codegen import emit_torch
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

_DECOUPLED = ("Adam", "AdamW")  # optimizers whose torch class decays decoupled itself


def _imports(body: str) -> str:
    lines = ["import argparse"]
    if "math." in body:
        lines.append("import math")
    lines += ["", "import numpy as np", "import torch", "import torch.nn.functional as F",
              "from torch import nn"]
    return "\n".join(lines)


def _optimizer_call(opt: OptimizerSettings) -> Call:
    a = opt.full
    lr = "learning_rate(0)" if opt.schedule else lit(float(a["learning_rate"]))
    betas = f"({lit(a.get('beta_1'))}, {lit(a.get('beta_2'))})"
    params = "model.parameters()"
    name = opt.name
    if name in ("Adam", "AdamW"):
        wd = a.get("weight_decay")
        cls = "AdamW" if wd else "Adam"
        return Call(f"torch.optim.{cls}", [params], {
            "lr": lr, "betas": betas, "eps": lit(a["epsilon"]),
            "weight_decay": lit(wd) if wd else None,
            "amsgrad": "True" if a.get("amsgrad") else None})
    if name == "SGD":
        return Call("torch.optim.SGD", [params], {
            "lr": lr, "momentum": lit(a["momentum"]) if a["momentum"] else None,
            "nesterov": "True" if a.get("nesterov") else None})
    if name == "RMSprop":
        return Call("torch.optim.RMSprop", [params], {
            "lr": lr, "alpha": lit(a["rho"]), "eps": lit(a["epsilon"]),
            "momentum": lit(a["momentum"]) if a["momentum"] else None,
            "centered": "True" if a.get("centered") else None})
    if name == "Adagrad":
        return Call("torch.optim.Adagrad", [params], {
            "lr": lr, "initial_accumulator_value": lit(a["initial_accumulator_value"]),
            "eps": lit(a["epsilon"])})
    if name in ("Adamax", "Nadam"):
        cls = "Adamax" if name == "Adamax" else "NAdam"
        return Call(f"torch.optim.{cls}", [params], {"lr": lr, "betas": betas,
                                                      "eps": lit(a["epsilon"])})
    return Call("Lion", [params], {"lr": lr, "betas": betas})


def _optimizer(opt: OptimizerSettings) -> str:
    body = [opt.docstring()]
    if opt.name == "Nadam":
        body.append("# torch's NAdam decays the momentum like Keras' Nadam (Dozat's schedule).")
    body.append(_optimizer_call(opt).render(4, "return "))
    return ("def build_optimizer(model: nn.Module) -> torch.optim.Optimizer:\n"
            + indent("\n".join(body), 4))


def _step_lines(ctx: Context, opt: OptimizerSettings) -> list[str]:
    a = opt.full
    lines = []
    if opt.schedule is not None:
        lines += ["for group in optimizer.param_groups:",
                  "    group[\"lr\"] = learning_rate(step)"]
    lines += ["optimizer.zero_grad()",
              "loss = loss_fn(model(x_train[index]), y_train[index])",
              "loss.backward()"]
    if a.get("clipnorm") is not None:
        lines += ["for p in model.parameters():  # clipnorm: each gradient tensor's norm",
                  f"    torch.nn.utils.clip_grad_norm_([p], {lit(a['clipnorm'])})"]
    if a.get("clipvalue") is not None:
        lines.append(f"torch.nn.utils.clip_grad_value_(model.parameters(), "
                     f"{lit(a['clipvalue'])})")
    if a.get("global_clipnorm") is not None:
        lines.append(f"torch.nn.utils.clip_grad_norm_(model.parameters(), "
                     f"{lit(a['global_clipnorm'])})")
    wd = a.get("weight_decay")
    if wd and opt.name not in _DECOUPLED:
        lines += ["with torch.no_grad():  # decoupled weight decay, as Keras applies it",
                  "    for p in model.parameters():",
                  f"        p.mul_(1.0 - optimizer.param_groups[0][\"lr\"] * {lit(wd)})"]
    lines += ["optimizer.step()", "step += 1", "total += loss.item()"]
    return lines


def _train(ctx: Context, opt: OptimizerSettings) -> str:
    patience = ctx.spec.patience is not None
    body = [
        '"""Trains with the DSL\'s settings; returns the training loss of each epoch."""',
        "x_train, y_train, x_val, y_val = (torch.as_tensor(a) for a in data)",
        "optimizer = build_optimizer(model)",
        "generator = torch.Generator().manual_seed(SEED)",
        "steps = max(len(x_train) // batch_size, 1)  # the last partial batch is dropped",
        "losses, step = [], 0",
    ]
    if patience:
        body.append("best, best_state, bad = None, None, 0")
    loop = [
        "model.train()",
        "order = torch.randperm(len(x_train), generator=generator)",
        "total = 0.0",
        "for i in range(steps):",
        "    index = order[i * batch_size:(i + 1) * batch_size]",
        indent("\n".join(_step_lines(ctx, opt)), 4),
        "losses.append(total / steps)",
        "logs = evaluate(model, x_val, y_val, batch_size) if len(x_val) else {}",
        *epoch_line("losses[-1]", "logs"),
    ]
    if patience:
        loop += early_stopping_lines([
            "best, bad = score, 0",
            "best_state = {k: v.clone() for k, v in model.state_dict().items()}"])
    body += ["for epoch in range(1, epochs + 1):", indent("\n".join(loop), 4)]
    if patience:
        body += ["if best_state is not None:", "    model.load_state_dict(best_state)"]
    body.append("return losses")
    return ("def train(model: nn.Module, data: tuple, epochs: int, batch_size: int)"
            " -> list[float]:\n" + indent("\n".join(body), 4))


EVALUATE = '''\
@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             batch_size: int) -> dict[str, float]:
    """Validation loss and metrics over all of ``(x, y)``."""
    model.eval()
    totals = {}
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        for k, v in metrics_fn(model(xb), yb).items():
            totals[k] = totals.get(k, 0.0) + float(v) * len(xb)
    return {f"val_{k}": v / len(x) for k, v in totals.items()}'''


def script(ctx: Context) -> str:
    """The whole PyTorch script."""
    opt = optimizer_settings(ctx.spec)
    if opt.name == "Lion":
        ctx.helpers.add("Lion")
    helpers, model = emit_torch.model_source(ctx)
    parts = [constants(ctx), data_hook(ctx), *helpers, model,
             ("def build_model() -> nn.Module:\n    \"\"\"The network as a torch module.\"\"\"\n"
             "    return Model()")]
    parts.append(_optimizer(opt))
    if opt.schedule is not None:
        parts.append(schedule_function(*opt.schedule, jax=False))
    parts += [loss_source(ctx, jax=False), metrics_source(ctx, jax=False), EVALUATE,
              _train(ctx, opt), main_block(
                  ctx, ["torch.manual_seed(SEED)"],
                  ["model.load_state_dict(torch.load(weights))"],
                  ["logs = evaluate(model, torch.as_tensor(x_test), torch.as_tensor(y_test),",
                   "                BATCH_SIZE if batch_size is None else batch_size)",
                   'logs = {k[len("val_"):]: v for k, v in logs.items()}'])]
    body = join_sections(parts)
    return join_sections([header(ctx), _imports(body), body.rstrip("\n")])
