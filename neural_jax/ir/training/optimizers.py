"""The optimizers a network may name (SPEC §3), declared once for every backend.

Each entry is the Keras signature: arguments in positional order with Keras defaults and
domains. Every optimizer also takes Keras' three clipping arguments (at most one of them may
be set). An argument whose default is ``None`` is optional: absent unless given, and whether
it is given is part of the compiled program. ``structural`` names the flags and the numbers
used only at initialisation (``initial_accumulator_value``).
"""

from __future__ import annotations

from dataclasses import dataclass

from neural_jax.ir.params import ParamSpec as P
from neural_jax.ir.training.decl import TrainingDecl

__all__ = ["OPTIMIZERS", "OptimizerDecl", "CLIP_ARGS", "DEFAULT_OPTIMIZER"]

#: what a run uses when the network names no optimizer
DEFAULT_OPTIMIZER = "Adam"

#: Keras' gradient clipping arguments, taken by every optimizer; at most one may be set
CLIP_ARGS = ("clipnorm", "clipvalue", "global_clipnorm")


@dataclass(frozen=True)
class OptimizerDecl(TrainingDecl):
    """An optimizer: its Keras signature (clipping arguments included)."""


_LR = P("learning_rate", "positive", 0.001)
_EPS = P("epsilon", "positive", 1e-7)
_WD = P("weight_decay", "nonneg", None)
_CLIP = tuple(P(name, "positive", None) for name in CLIP_ARGS)
_BETAS = (P("beta_1", "rate", 0.9), P("beta_2", "rate", 0.999))


def _opt(name: str, *params: P) -> OptimizerDecl:
    sig = (*params, *_CLIP)
    structural = frozenset(p.name for p in sig if p.kind == "bool")
    if any(p.name == "initial_accumulator_value" for p in sig):
        structural |= {"initial_accumulator_value"}
    return OptimizerDecl(name, sig, aliases=(), structural=structural)


OPTIMIZERS: dict[str, OptimizerDecl] = {d.name: d for d in (
    _opt("Adam", _LR, *_BETAS, _EPS, P("amsgrad", "bool", False), _WD),
    _opt("AdamW", _LR, P("weight_decay", "nonneg", 0.004), *_BETAS, _EPS,
         P("amsgrad", "bool", False)),
    _opt("SGD", P("learning_rate", "positive", 0.01), P("momentum", "rate", 0.0),
         P("nesterov", "bool", False), _WD),
    _opt("RMSprop", _LR, P("rho", "rate", 0.9), P("momentum", "rate", 0.0), _EPS,
         P("centered", "bool", False), _WD),
    _opt("Adagrad", _LR, P("initial_accumulator_value", "nonneg", 0.1), _EPS, _WD),
    _opt("Adamax", _LR, *_BETAS, _EPS, _WD),
    _opt("Nadam", _LR, *_BETAS, _EPS, _WD),
    _opt("Lion", _LR, P("beta_1", "rate", 0.9), P("beta_2", "rate", 0.99), _WD),
)}
