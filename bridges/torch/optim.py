r"""Keras-named optimizers as one ``torch.optim.Optimizer`` that repeats the optax chains.

Notation: :math:`g` gradient, :math:`\theta` parameters, :math:`\eta_t` the learning rate
of step :math:`t` (a schedule evaluated at the step count before the update, as
``optax.inject_hyperparams`` does), :math:`\lambda` weight decay, :math:`\hat{x}` a
bias-corrected moment (:math:`x / (1 - \beta^{t+1})`). Each step is the chain of
:mod:`neural_jax.train.optimizers`:

1. clipping (Keras ``clipnorm`` per tensor, ``clipvalue``, ``global_clipnorm``);
2. the direction :math:`d(g)` and :math:`u = -\eta_t d(g)`:

   * Adam/AdamW: :math:`\hat m / (\sqrt{\hat v} + \epsilon)` (Kingma & Ba 2015, Alg. 1;
     ``epsilon`` outside the root); ``amsgrad``: :math:`\hat v` replaced by the running
     maximum of :math:`\hat v` (optax takes the maximum of the *corrected* moment);
   * Nadam: :math:`(\beta_1 \widehat{m}_{t+1} + (1-\beta_1) g / (1 - \beta_1^{t})) /
     (\sqrt{\hat v} + \epsilon)` (Dozat 2016, without Keras' momentum-decay schedule);
   * Adamax: :math:`\hat m / u_t` with :math:`u_t = \max(\beta_2 u_{t-1}, |g| + \epsilon)`;
   * Lion: :math:`\operatorname{sign}(\beta_1 m + (1-\beta_1) g)`, then
     :math:`m \leftarrow \beta_2 m + (1-\beta_2) g` (Chen et al. 2023, Alg. 2);
   * RMSprop: :math:`g / \sqrt{\nu + \epsilon}` (``epsilon`` INSIDE the root), centered:
     :math:`g / \sqrt{\nu - \mu^2 + \epsilon}`; then momentum on :math:`u`;
   * Adagrad: :math:`g / \sqrt{s + \epsilon}`, :math:`s` starting at
     ``initial_accumulator_value``;
   * SGD: momentum on :math:`u` (:math:`v \leftarrow m v - \eta_t g`; nesterov
     :math:`m v - \eta_t g` again), so a changing rate scales only new gradients;
3. decoupled weight decay :math:`u \mathrel{-}= \eta_t \lambda \theta` (Loshchilov & Hutter
   2019), after momentum, for every optimizer as Keras 3 does; then :math:`\theta += u`.

torch's built-in optimizers differ in places that change the numbers (RMSprop and Adagrad
put ``eps`` outside the root, NAdam has a momentum-decay schedule, SGD applies momentum
before the rate and couples weight decay, AMSGrad takes the maximum of the uncorrected
moment, Lion is absent), hence one optimizer class for all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

from bridges.errors import BackendError
from bridges.torch.schedules import schedule_fn
from neural_jax.ir.training.resolve import optimizer_hyperparams, optimizer_structure

__all__ = ["KerasOptimizer", "UPDATES", "build_optimizer"]

Tensor = torch.Tensor


class KerasOptimizer(torch.optim.Optimizer):
    """One Keras-named optimizer (see the module docstring); use :func:`build_optimizer`.

    Attributes:
      name: the Keras name (``"Adam"``).
      hyperparams: float arguments other than the learning rate (defaults filled in).
      flags: structural arguments (``nesterov``, ``amsgrad``, ``centered``,
        ``initial_accumulator_value``).
      schedule: ``step -> learning rate``.
      iterations: updates done so far (Keras' ``optimizer.iterations``).
    """

    def __init__(self, params: Iterable[Any], name: str, hyperparams: Mapping[str, float],
                 flags: Mapping[str, Any], schedule: Callable[[int], float]) -> None:
        super().__init__(params, {"lr": schedule(0)})
        self.name = name
        self.hyperparams = dict(hyperparams)
        self.flags = dict(flags)
        self.schedule = schedule
        self.iterations = 0

    # -- step ---------------------------------------------------------------------------

    def _clip(self, grads: list[Tensor]) -> list[Tensor]:
        hp = self.hyperparams
        if "clipnorm" in hp:
            c = hp["clipnorm"]
            grads = [g * (c / torch.clamp(torch.linalg.vector_norm(g), min=c)) for g in grads]
        if "clipvalue" in hp:
            grads = [torch.clamp(g, -hp["clipvalue"], hp["clipvalue"]) for g in grads]
        if "global_clipnorm" in hp:
            c = hp["global_clipnorm"]
            norm = torch.sqrt(sum(torch.sum(torch.square(g)) for g in grads))
            if not bool(norm < c):
                grads = [g / norm * c for g in grads]
        return grads

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """One update of every parameter (a parameter without a gradient counts as zero)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        lr = self.schedule(self.iterations)
        params = [p for group in self.param_groups for p in group["params"]]
        grads = self._clip([p.grad if p.grad is not None else torch.zeros_like(p)
                            for p in params])
        count = self.iterations + 1
        wd = self.hyperparams.get("weight_decay")
        for p, g in zip(params, grads):
            u = self._update(p, g, lr, count)
            if wd is not None:
                u = u - (lr * wd) * p
            p.add_(u)
        self.iterations = count
        for group in self.param_groups:
            group["lr"] = self.schedule(self.iterations)
        return loss

    def _update(self, p: Tensor, g: Tensor, lr: float, t: int) -> Tensor:
        """The update ``u`` of one parameter before weight decay."""
        update = UPDATES.get(self.name)
        if update is None:
            raise BackendError(f"optimizer {self.name} has no PyTorch update (backend: pytorch)",
                               hint="use one of " + ", ".join(UPDATES))
        return update(self.hyperparams, self.flags, self.state[p], p, g, lr, t)


_Update = Callable[[Mapping[str, float], Mapping[str, Any], dict, Tensor, Tensor, float, int],
                   Tensor]


def _momentum(state: dict, u: Tensor, momentum: float, nesterov: bool) -> Tensor:
    """``optax.trace``: ``v = u + m v``; nesterov ``u + m v`` with the new ``v``."""
    v = state.setdefault("trace", torch.zeros_like(u))
    v.copy_(u + momentum * v)
    return u + momentum * v if nesterov else v.clone()


def _first_moment(hp, state, p, g, t) -> Tensor:
    b1 = hp["beta_1"]
    m = state.setdefault("m", torch.zeros_like(p))
    m.copy_((1.0 - b1) * g + b1 * m)
    return m


def _adam(hp, flags, state, p, g, lr, t, nesterov: bool = False) -> Tensor:
    b1, b2 = hp["beta_1"], hp["beta_2"]
    m = _first_moment(hp, state, p, g, t)
    m_hat = m / (1.0 - b1 ** t)
    v = state.setdefault("v", torch.zeros_like(p))
    v.copy_((1.0 - b2) * torch.square(g) + b2 * v)
    v_hat = v / (1.0 - b2 ** t)
    if nesterov:
        m_hat = b1 * (m / (1.0 - b1 ** (t + 1))) + (1.0 - b1) * (g / (1.0 - b1 ** t))
    elif flags.get("amsgrad"):
        v_max = state.setdefault("v_max", torch.zeros_like(p))
        v_hat = v_max.copy_(torch.maximum(v_max, v_hat))
    return -lr * (m_hat / (torch.sqrt(v_hat) + hp["epsilon"]))


def _nadam(hp, flags, state, p, g, lr, t) -> Tensor:
    return _adam(hp, flags, state, p, g, lr, t, nesterov=True)


def _adamax(hp, flags, state, p, g, lr, t) -> Tensor:
    m_hat = _first_moment(hp, state, p, g, t) / (1.0 - hp["beta_1"] ** t)
    nu = state.setdefault("nu", torch.zeros_like(p))
    nu.copy_(torch.maximum(hp["beta_2"] * nu, torch.abs(g) + hp["epsilon"]))
    return -lr * (m_hat / nu)


def _lion(hp, flags, state, p, g, lr, t) -> Tensor:
    b1, b2 = hp["beta_1"], hp["beta_2"]
    m = state.setdefault("m", torch.zeros_like(p))
    direction = torch.sign((1.0 - b1) * g + b1 * m)
    m.copy_((1.0 - b2) * g + b2 * m)
    return -lr * direction


def _sgd(hp, flags, state, p, g, lr, t) -> Tensor:
    return _momentum(state, -lr * g, hp["momentum"], bool(flags.get("nesterov")))


def _rmsprop(hp, flags, state, p, g, lr, t) -> Tensor:
    rho, eps = hp["rho"], hp["epsilon"]
    nu = state.setdefault("nu", torch.zeros_like(p))
    nu.copy_((1.0 - rho) * torch.square(g) + rho * nu)
    if flags.get("centered"):
        mu = state.setdefault("mu", torch.zeros_like(p))
        mu.copy_((1.0 - rho) * g + rho * mu)
        scaled = g * torch.rsqrt(nu - torch.square(mu) + eps)
    else:
        scaled = g * torch.rsqrt(nu + eps)
    return _momentum(state, -lr * scaled, hp["momentum"], False)


def _adagrad(hp, flags, state, p, g, lr, t) -> Tensor:
    s = state.setdefault("sum", torch.full_like(p, float(flags["initial_accumulator_value"])))
    s.add_(torch.square(g))
    inv = torch.where(s > 0, torch.rsqrt(s + hp["epsilon"]), torch.zeros_like(s))
    return -lr * (inv * g)


#: the update of each optimizer the IR declares (:data:`neural_jax.ir.training.OPTIMIZERS`),
#: keyed by its canonical name: ``update(hp, flags, state, p, g, lr, t) -> u``
UPDATES: dict[str, _Update] = {
    "Adam": _adam,
    "AdamW": _adam,
    "SGD": _sgd,
    "RMSprop": _rmsprop,
    "Adagrad": _adagrad,
    "Adamax": _adamax,
    "Nadam": _nadam,
    "Lion": _lion,
}


def build_optimizer(name: str, args: Mapping[str, Any] | None,
                    params: Iterable[Any]) -> KerasOptimizer:
    """The torch optimizer for a Keras-named optimizer and its DSL arguments.

    Args:
      name: Adam, AdamW, SGD, RMSprop, Adagrad, Adamax, Nadam or Lion (any case).
      args: Keras arguments as :class:`neural_jax.train.spec.TrainSpec` holds them;
        ``learning_rate`` may be a schedule ``{"schedule": name, "args": {...}}``.
      params: the module's parameters.

    Raises:
      TrainConfigError: unknown optimizer, schedule or argument, or a bad value (the JAX
        side's validation).
      BackendError: a learning rate given as a Python callable (a JAX schedule).
    """
    args = dict(args or {})
    if callable(args.get("learning_rate")):
        raise BackendError(
            "a learning_rate given as a function cannot run in PyTorch (backend: pytorch)",
            hint="give a number or a schedule {'schedule': name, 'args': {...}}")
    opt_name, flag_items, float_names, lr_key = optimizer_structure(name, args)
    values = optimizer_hyperparams(name, args)
    floats = {k: float(values[k]) for k in float_names}
    if lr_key == "constant":
        lr = float(values["learning_rate"])

        def schedule(step: Any) -> float:
            return lr
    else:
        sched_name, static, _ = lr_key
        prefix = "learning_rate."
        dynamic = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
        schedule = schedule_fn(sched_name, dynamic, dict(static))
    return KerasOptimizer(params, opt_name, floats, dict(flag_items), schedule)
