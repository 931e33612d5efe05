"""Optimizer and learning-rate schedule settings, resolved for the code generators.

:func:`optimizer_settings` gives the optimizer's canonical (Keras) name, every argument
with Keras defaults filled in, and the schedule of its learning rate when it has one.
:func:`keras_schedule` writes the Keras schedule object; :func:`schedule_function` writes
``learning_rate(step)`` as plain Python (``math``, for the PyTorch loop) or ``jax.numpy``
(for optax), with the formulas of :mod:`neural_jax.train.schedules`. ``step`` counts
optimizer updates from 0, as Keras' ``optimizer.iterations`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridges.codegen.context import lit
from bridges.codegen.templates import Call, indent

__all__ = ["OptimizerSettings", "keras_schedule", "optimizer_settings", "schedule_function"]


@dataclass(frozen=True)
class OptimizerSettings:
    """The optimizer of a script.

    Attributes:
      name: Keras name (``Adam``, ``SGD``...).
      given: the arguments the DSL wrote (schedules as ``(name, args)``), Keras names.
      full: every argument with Keras defaults (``None`` for an absent optional one).
      schedule: ``(name, args)`` of a learning-rate schedule (canonical names, every
        argument), or None for a constant rate.
    """

    name: str
    given: Mapping[str, Any]
    full: Mapping[str, Any]
    schedule: tuple[str, dict[str, Any]] | None

    @property
    def initial_lr(self) -> float:
        """The learning rate of the first step."""
        if self.schedule is None:
            return float(self.full["learning_rate"])
        name, a = self.schedule
        if name == "PiecewiseConstantDecay":
            return float(a["values"][0])
        return float(a["initial_learning_rate"])


def _schedule(value: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    from neural_jax.train.schedules import resolve_schedule

    spec, dynamic, static = resolve_schedule(value["schedule"], value.get("args"))
    args: dict[str, Any] = {}
    for p in spec.params:
        v = dynamic.get(p.name, static.get(p.name))
        args[p.name] = [float(x) for x in v.tolist()] if hasattr(v, "tolist") else v
    return spec.name, args


def optimizer_settings(spec) -> OptimizerSettings:
    """Resolves a :class:`neural_jax.train.spec.TrainSpec`'s optimizer."""
    from neural_jax.train.optimizers import OPTIMIZERS, optimizer_signature

    name = OPTIMIZERS[spec.optimizer.lower()].name
    full = dict(optimizer_signature(name))
    given: dict[str, Any] = {}
    schedule = None
    for k, v in spec.optimizer_args.items():
        if isinstance(v, Mapping):
            schedule = _schedule(v)
            v = schedule
        given[k] = v
        full[k] = v
    return OptimizerSettings(name, given, full, schedule)


def keras_schedule(name: str, a: Mapping[str, Any]) -> Call:
    """The ``keras.optimizers.schedules`` object of a schedule."""
    s = "keras.optimizers.schedules."
    if name == "WarmupCosineDecay":
        # Keras' CosineDecay with a warmup: rises to `peak`, then decays over decay_steps.
        return Call(s + "CosineDecay", [], {
            "initial_learning_rate": lit(a["initial_learning_rate"]),
            "decay_steps": lit(a["decay_steps"]), "alpha": lit(a["alpha"]),
            "warmup_target": lit(a["peak"]), "warmup_steps": lit(a["warmup_steps"])})
    if name == "StepDecay":
        return Call(s + "ExponentialDecay", [], {
            "initial_learning_rate": lit(a["initial_learning_rate"]),
            "decay_steps": lit(a["step_size"]), "decay_rate": lit(a["gamma"]),
            "staircase": "True"})
    kwargs = {k: lit(v) for k, v in a.items() if not (k == "warmup_target" and v is None)}
    return Call(s + name, [], kwargs)


def _cosine(a: Mapping[str, Any], m: str, jax: bool, warm_target: Any, warm_steps: Any,
            init: Any) -> list[str]:
    mn = "jnp.minimum" if jax else "min"
    decay = [f"t = {mn}(step{' - ' + lit(warm_steps) if warm_target is not None else ''}, "
             f"{lit(a['decay_steps'])}) / {lit(a['decay_steps'])}",
             f"cosine = 0.5 * (1.0 + {m}.cos({m}.pi * t))"]
    start = lit(warm_target) if warm_target is not None else lit(init)
    decayed = f"{start} * ((1.0 - {lit(a['alpha'])}) * cosine + {lit(a['alpha'])})"
    if warm_target is None:
        return decay + [f"return {decayed}"]
    warm = (f"{lit(init)} + ({lit(warm_target)} - {lit(init)}) * step / "
            f"{lit(max(float(warm_steps), 1.0))}")
    if jax:
        return decay + [f"return jnp.where(step < {lit(warm_steps)}, {warm}, {decayed})"]
    return [f"if step < {lit(warm_steps)}:  # linear warmup", f"    return {warm}",
            *decay, f"return {decayed}"]


def _body(name: str, a: Mapping[str, Any], jax: bool) -> tuple[str, list[str]]:
    m = "jnp" if jax else "math"
    if name in ("ExponentialDecay", "InverseTimeDecay"):
        p = f"step / {lit(a['decay_steps'])}"
        if a.get("staircase"):
            p = f"{m}.floor({p})"
        if name == "ExponentialDecay":
            return ("initial_learning_rate * decay_rate ** (step / decay_steps)",
                    [f"return {lit(a['initial_learning_rate'])} * {lit(a['decay_rate'])} ** ({p})"])
        return ("initial_learning_rate / (1 + decay_rate * step / decay_steps)",
                [f"return {lit(a['initial_learning_rate'])} / (1.0 + {lit(a['decay_rate'])}"
                 f" * {p})"])
    if name == "CosineDecay":
        doc = "cosine decay from initial_learning_rate to alpha * it over decay_steps"
        return doc, _cosine(a, m, jax, a.get("warmup_target"), a.get("warmup_steps", 0.0),
                            a["initial_learning_rate"])
    if name == "WarmupCosineDecay":
        doc = "linear warmup to peak over warmup_steps, then cosine decay over decay_steps"
        return doc, _cosine(a, m, jax, a["peak"], a["warmup_steps"], a["initial_learning_rate"])
    if name == "PiecewiseConstantDecay":
        doc = "values[i] where i is the number of boundaries below step"
        if jax:
            return doc, [f"boundaries = jnp.array({lit(a['boundaries'])})",
                         f"values = jnp.array({lit(a['values'])})",
                         "return values[jnp.sum(step > boundaries)]"]
        return doc, [f"boundaries = {lit(a['boundaries'])}", f"values = {lit(a['values'])}",
                     "return values[sum(step > b for b in boundaries)]"]
    if name == "PolynomialDecay":
        doc = "polynomial decay from initial_learning_rate to end_learning_rate"
        init, end, T = (lit(a["initial_learning_rate"]), lit(a["end_learning_rate"]),
                        lit(a["decay_steps"]))
        if a.get("cycle"):
            if jax:
                lines = [f"decay_steps = {T} * jnp.maximum(jnp.ceil(step / {T}), 1.0)"]
            else:
                lines = [f"decay_steps = {T} * max(math.ceil(step / {T}), 1)"]
            t = "step"
        else:
            lines = [f"decay_steps = {T}"]
            t = f"{'jnp.minimum' if jax else 'min'}(step, decay_steps)"
        return doc, lines + [f"return ({init} - {end}) * (1.0 - {t} / decay_steps) ** "
                             f"{lit(a['power'])} + {end}"]
    if name == "StepDecay":
        return ("initial_learning_rate * gamma ** floor(step / step_size)",
                [f"return {lit(a['initial_learning_rate'])} * {lit(a['gamma'])} ** "
                 f"{m}.floor(step / {lit(a['step_size'])})"])
    raise ValueError(f"no code template for the schedule {name}")


def schedule_function(name: str, a: Mapping[str, Any], jax: bool) -> str:
    """``def learning_rate(step)`` for a schedule, in ``math`` or ``jax.numpy``."""
    doc, body = _body(name, a, jax)
    text = [f'"""{name}: {doc} (Keras semantics)."""', *body]
    sig = "def learning_rate(step):" if jax else "def learning_rate(step: int) -> float:"
    return sig + "\n" + indent("\n".join(text), 4)
