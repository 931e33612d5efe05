"""Registries of the non-layer names of SPEC §3: optimizers, schedules, losses, metrics.

Each entry is a signature of :class:`~neural_jax.ir.params.ParamSpec` in positional order,
with Keras names and defaults. The trainer maps these names to optax; the front end only
needs them to validate and normalise what a file says.
"""

from __future__ import annotations

from neural_jax.ir.params import ParamSpec as P
from neural_jax.methods import METHODS

__all__ = ["OPTIMIZERS", "SCHEDULES", "LOSSES", "METRICS", "SEARCH_METHODS", "lookup"]

_LR = P("learning_rate", "positive", 0.001)
_CLIP = (P("clipnorm", "positive", None), P("clipvalue", "positive", None),
         P("global_clipnorm", "positive", None))
_BETAS = (P("beta_1", "rate", 0.9), P("beta_2", "rate", 0.999))

OPTIMIZERS: dict[str, tuple[P, ...]] = {
    "Adam": (_LR, *_BETAS, P("epsilon", "positive", 1e-7), P("amsgrad", "bool", False),
             P("weight_decay", "nonneg", None), *_CLIP),
    "AdamW": (_LR, P("weight_decay", "nonneg", 0.004), *_BETAS, P("epsilon", "positive", 1e-7),
              P("amsgrad", "bool", False), *_CLIP),
    "SGD": (P("learning_rate", "positive", 0.01), P("momentum", "rate", 0.0),
            P("nesterov", "bool", False), P("weight_decay", "nonneg", None), *_CLIP),
    "RMSprop": (_LR, P("rho", "rate", 0.9), P("momentum", "rate", 0.0),
                P("epsilon", "positive", 1e-7), P("centered", "bool", False),
                P("weight_decay", "nonneg", None), *_CLIP),
    "Adagrad": (_LR, P("initial_accumulator_value", "nonneg", 0.1),
                P("epsilon", "positive", 1e-7), P("weight_decay", "nonneg", None), *_CLIP),
    "Adamax": (_LR, *_BETAS, P("epsilon", "positive", 1e-7), P("weight_decay", "nonneg", None),
               *_CLIP),
    "Nadam": (_LR, *_BETAS, P("epsilon", "positive", 1e-7), P("weight_decay", "nonneg", None),
              *_CLIP),
    "Lion": (P("learning_rate", "positive", 0.001), P("beta_1", "rate", 0.9),
             P("beta_2", "rate", 0.99), P("weight_decay", "nonneg", None), *_CLIP),
}

SCHEDULES: dict[str, tuple[P, ...]] = {
    "ExponentialDecay": (P("initial_learning_rate", "positive"), P("decay_steps", "pos_int"),
                         P("decay_rate", "positive"), P("staircase", "bool", False)),
    "CosineDecay": (P("initial_learning_rate", "positive"), P("decay_steps", "pos_int"),
                    P("alpha", "unit", 0.0)),
    "WarmupCosineDecay": (P("peak", "positive"), P("warmup_steps", "nonneg_int"),
                          P("decay_steps", "pos_int"), P("alpha", "unit", 0.0)),
    "PiecewiseConstantDecay": (P("boundaries", "numbers"), P("values", "numbers")),
    "PolynomialDecay": (P("initial_learning_rate", "positive"), P("decay_steps", "pos_int"),
                        P("end_learning_rate", "nonneg", 0.0001), P("power", "positive", 1.0),
                        P("cycle", "bool", False)),
    "StepDecay": (P("initial", "positive"), P("step_size", "pos_int"), P("gamma", "positive", 0.1)),
}

LOSSES: dict[str, tuple[P, ...]] = {
    "sparse_categorical_crossentropy": (P("from_logits", "bool", False),),
    "categorical_crossentropy": (P("from_logits", "bool", False),
                                 P("label_smoothing", "unit", 0.0)),
    "binary_crossentropy": (P("from_logits", "bool", False), P("label_smoothing", "unit", 0.0)),
    "mse": (),
    "mae": (),
    "huber": (P("delta", "positive", 1.0),),
}

METRICS: dict[str, tuple[P, ...]] = {
    "accuracy": (),
    "top_k_accuracy": (P("k", "pos_int", 5),),
    "loss": (),
    "mse": (),
    "mae": (),
}

#: search methods a `train { search_method: ... }` may name (:mod:`neural_jax.methods`;
#: aliases such as "bayesian" and "CMA-ES" and any evosax algorithm name are accepted too)
SEARCH_METHODS = tuple(METHODS)

_ALIASES = {
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "acc": "accuracy",
    "sgd": "SGD",
    "rmsprop": "RMSprop",
}


def lookup(table: dict, name: str) -> str | None:
    """The canonical key of ``table`` matching ``name`` case-insensitively, or None."""
    low = name.lower()
    low = _ALIASES.get(low, low).lower()
    for key in table:
        if key.lower() == low:
            return key
    return None
