"""What a search optimizes: the metrics a network's training records, and their direction.

A trial's value is one of the metrics its training records (:mod:`neural_jax.train.metrics`):
``loss`` and every metric of the network's ``metrics:`` (``accuracy`` when it names none;
``top_k_accuracy(k=3)`` is recorded as ``top_3_accuracy``), as training values, and with a
``val_`` prefix on the validation split when the network holds one out. :func:`check_metric`
refuses any other name before anything trains, listing the names that exist.

The direction follows from the name (:func:`infer_direction`): losses and errors
(``loss``, ``mse``, ``mae``, anything with ``loss`` or ``error`` in it) are minimized,
everything else (accuracies) maximized. A direction that contradicts the metric
(``val_loss`` maximized) is an error rather than a search that quietly looks for the worst
configuration; there is no switch to allow it, because every metric a network records has
a known better end.
"""

from __future__ import annotations

from neural_jax.core.errors import NeuralValidationError, did_you_mean

__all__ = ["MetricError", "available_metrics", "check_metric", "default_metric",
           "infer_direction", "resolve_direction"]

#: words that make a metric something to minimize
_MINIMIZED = ("loss", "error", "mse", "mae", "rmse", "nll", "perplexity", "crossentropy",
              "hinge", "huber", "regret")
_DIRECTIONS = {"maximize": "maximize", "max": "maximize", "minimize": "minimize",
               "min": "minimize"}


class MetricError(NeuralValidationError):
    """A metric the training does not record, or a direction that contradicts it.

    Attributes:
      argument: the argument at fault, ``"metric"`` or ``"direction"`` (the ``neural``
        command names its flag).
    """

    kind = "error"

    def __init__(self, message: str, *, argument: str = "metric", **kw) -> None:
        self.argument = argument
        super().__init__(message, **kw)


def available_metrics(net) -> list[str]:
    """The metric names a search of ``net`` may optimize, validation ones first."""
    from neural_jax.train.spec import training_spec

    spec = training_spec(net)
    names = ["loss"]
    for name, params in spec.metrics:
        key = name if name != "top_k_accuracy" else f"top_{params.get('k', 5)}_accuracy"
        if key not in names:
            names.append(key)
    val = [f"val_{n}" for n in names] if spec.validation_split > 0 else []
    return val + names


def default_metric(net) -> str:
    """What a search optimizes when not told: ``val_accuracy`` when ``net`` records it, else
    the first validation metric (``val_loss``), else the training ``loss``."""
    names = available_metrics(net)
    if "val_accuracy" in names:
        return "val_accuracy"
    return next((n for n in names if n.startswith("val_")), "loss")


def check_metric(net, metric: str) -> None:
    """Raises :class:`MetricError` unless training ``net`` records ``metric``."""
    if not isinstance(metric, str) or not metric:
        raise MetricError(f"metric must be a metric name such as 'val_accuracy', got {metric!r}")
    names = available_metrics(net)
    if metric in names:
        return
    if metric.startswith("test_"):
        raise MetricError(f"metric {metric!r}: the test split is never used to choose",
                          hint="optimize a val_ metric, e.g. val_accuracy")
    if metric.startswith("val_") and not any(n.startswith("val_") for n in names):
        raise MetricError(
            f"metric {metric!r}: network '{net.name}' holds out no validation split",
            hint="set validation_split in its train block (e.g. 0.2), or optimize one of: "
                 + ", ".join(names))
    close = did_you_mean(metric, names)
    raise MetricError(f"unknown metric {metric!r}: training network '{net.name}' records "
                      + ", ".join(names), hint=close or "choose one of those")


def infer_direction(metric: str) -> str:
    """``"minimize"`` for losses and errors, ``"maximize"`` for everything else."""
    base = metric.lower()
    return "minimize" if any(w in base for w in _MINIMIZED) else "maximize"


def resolve_direction(metric: str, direction: str | None) -> str:
    """The direction to optimize ``metric`` in: ``direction`` when given and consistent,
    else the inferred one.

    Raises:
      MetricError: ``direction`` is not a direction, or contradicts the metric.
    """
    inferred = infer_direction(metric)
    if direction is None:
        return inferred
    key = _DIRECTIONS.get(str(direction).lower())
    if key is None:
        raise MetricError(f"direction must be 'maximize' or 'minimize', got {direction!r}",
                          argument="direction")
    if key != inferred:
        better = "lower" if inferred == "minimize" else "higher"
        raise MetricError(
            f"direction {key!r} contradicts metric {metric!r}, which is better {better}",
            hint=f"leave the direction out ({inferred} is inferred), or optimize another metric",
            argument="direction")
    return key
