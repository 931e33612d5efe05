"""Optimizer and learning-rate schedule settings, resolved for the code generators.

:func:`optimizer_settings` gives the optimizer's canonical (Keras) name, every argument
with Keras defaults filled in, and the schedule of its learning rate when it has one.
:func:`keras_schedule` writes the Keras schedule object; :func:`schedule_function` writes
``learning_rate(step)`` as plain Python (``math``, for the PyTorch loop) or ``jax.numpy``
(for optax), with the formulas of :mod:`neural_jax.train.schedules`. ``step`` counts
optimizer updates from 0, as Keras' ``optimizer.iterations`` does.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridges.codegen.context import lit
from bridges.codegen.source import Call, indent

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

    def docstring(self) -> str:
        """A docstring naming the optimizer and the arguments the DSL gave."""
        given = ", ".join(f"{k}={v[0] if isinstance(v, tuple) else lit(v)}"
                          for k, v in self.given.items())
        call = f"{self.name}({given})"
        one = f'"""The DSL\'s optimizer, {call}, with Keras\' defaults for the rest."""'
        if len(one) <= 88:
            return one
        return ('"""The DSL\'s optimizer, with Keras\' defaults for the rest:\n\n'
                f'    {call}\n"""')

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
    from neural_jax.ir.training.resolve import resolve_schedule

    resolved = resolve_schedule(value["schedule"], value.get("args"))
    spec, dynamic, static = resolved.decl, resolved.dynamic, resolved.static
    written = {spec.arg_aliases.get(k, k): v for k, v in dict(value.get("args") or {}).items()}
    args: dict[str, Any] = {}
    for p in spec.params:
        v = dynamic.get(p.name, static.get(p.name))
        if isinstance(v, tuple):  # a list: keep the values as written
            v = [float(x) for x in written.get(p.name, v)]
        if p.name in _STEPS:  # step counts read better as integers
            v = [_int(x) for x in v] if isinstance(v, list) else _int(v)
        args[p.name] = v
    return spec.name, args


#: schedule arguments that count steps
_STEPS = ("decay_steps", "warmup_steps", "step_size", "boundaries")


def _int(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def optimizer_settings(spec) -> OptimizerSettings:
    """Resolves a :class:`neural_jax.train.spec.TrainSpec`'s optimizer."""
    from neural_jax.ir.training import OPTIMIZERS, lookup

    decl = OPTIMIZERS[lookup(OPTIMIZERS, spec.optimizer)]
    name = decl.name
    full = {p.name: p.default for p in decl.params}
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
    defaults = {"warmup_target": None, "warmup_steps": 0, "staircase": False, "cycle": False}
    kwargs = {k: lit(v) for k, v in a.items() if not (k in defaults and v == defaults[k])}
    return Call(s + name, [], kwargs)


def _cosine(a: Mapping[str, Any], m: str, jax: bool, target: Any, warm_steps: Any,
            init: Any) -> list[str]:
    """Cosine decay, after a linear warmup from ``init`` to ``target`` when one is given."""
    steps, alpha = lit(a["decay_steps"]), float(a["alpha"])
    start = lit(init if target is None else target)
    mn = "jnp.minimum" if jax else "min"
    shifted = "step" if target is None else f"step - {lit(warm_steps)}"
    cos = f"0.5 * (1.0 + {m}.cos({m}.pi * t))"
    decayed = (f"{start} * {cos}" if alpha == 0 else
               f"{start} * ((1.0 - {lit(alpha)}) * {cos} + {lit(alpha)})")
    lines = [f"t = {mn}({shifted}, {steps}) / {steps}"]
    if target is None:
        return lines + [f"return {decayed}"]
    ws = lit(max(warm_steps, 1))
    warm = (f"{lit(target)} * step / {ws}" if float(init) == 0 else
            f"{lit(init)} + ({lit(target)} - {lit(init)}) * step / {ws}")
    if jax:
        return [f"warmup = {warm}", *lines, f"decayed = {decayed}",
                f"return jnp.where(step < {lit(warm_steps)}, warmup, decayed)"]
    return [f"if step < {lit(warm_steps)}:  # linear warmup", f"    return {warm}",
            *lines, f"return {decayed}"]


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
                [(f"return {lit(a['initial_learning_rate'])} / (1.0 + {lit(a['decay_rate'])}"
                 f" * {p})")])
    if name == "CosineDecay":
        doc = "cosine decay from initial_learning_rate to alpha * it over decay_steps"
        return doc, _cosine(a, m, jax, a.get("warmup_target"), a.get("warmup_steps", 0.0),
                            a["initial_learning_rate"])
    if name == "WarmupCosineDecay":
        doc = "linear warmup to peak over warmup_steps, then cosine decay over decay_steps"
        return doc, _cosine(a, m, jax, a["peak"], a["warmup_steps"], a["initial_learning_rate"])
    if name == "PiecewiseConstantDecay":
        doc = "the i-th of values, where i counts the boundaries below step"
        if jax:
            return doc, [f"boundaries = jnp.array({lit(a['boundaries'])})",
                         f"values = jnp.array({lit(a['values'])})",
                         "return values[jnp.sum(step > boundaries)]"]
        return doc, [f"boundaries = {lit(a['boundaries'])}", f"values = {lit(a['values'])}",
                     "return values[sum(step > b for b in boundaries)]"]
    if name == "PolynomialDecay":
        doc = "polynomial decay from initial_learning_rate to end_learning_rate"
        init, end, steps = (lit(a["initial_learning_rate"]), lit(a["end_learning_rate"]),
                        lit(a["decay_steps"]))
        if a.get("cycle"):
            if jax:
                lines = [f"decay_steps = {steps} * jnp.maximum(jnp.ceil(step / {steps}), 1.0)"]
            else:
                lines = [f"decay_steps = {steps} * max(math.ceil(step / {steps}), 1)"]
            t = "step"
        else:
            lines = [f"decay_steps = {steps}"]
            t = f"{'jnp.minimum' if jax else 'min'}(step, decay_steps)"
        return doc, lines + [(f"return ({init} - {end}) * (1.0 - {t} / decay_steps) ** "
                             f"{lit(a['power'])} + {end}")]
    if name == "StepDecay":
        return ("initial_learning_rate * gamma ** floor(step / step_size)",
                [(f"return {lit(a['initial_learning_rate'])} * {lit(a['gamma'])} ** "
                 f"{m}.floor(step / {lit(a['step_size'])})")])
    raise ValueError(f"no code template for the schedule {name}")


def schedule_function(name: str, a: Mapping[str, Any], jax: bool) -> str:
    """``def learning_rate(step)`` for a schedule, in ``math`` or ``jax.numpy``."""
    doc, body = _body(name, a, jax)
    about = textwrap.wrap(f"{doc[0].upper()}{doc[1:]}, as Keras computes it.", 88)
    text = [f'"""The learning rate of optimizer step ``step`` (from 0): {name}.', "",
            *about, '"""', *body]
    sig = "def learning_rate(step):" if jax else "def learning_rate(step: int) -> float:"
    return sig + "\n" + indent("\n".join(text), 4)
