"""The backend contract: rule tables built from the layer registry, and their lookup.

Every interpreter of the IR (the JAX rules, the torch and TensorFlow bridges, the three code
generators) gives one *builder* per layer family of :data:`FAMILIES`;
:func:`rule_table` turns those builders into one rule per registered layer, passing each
layer's ``variant`` (``n`` spatial dimensions, a pooling ``kind``...). :func:`lookup_rule`
finds a layer's rule and, for a layer the backend lacks, raises the user error. The
structure layers share their computation through :mod:`neural_jax.ir.wrappers`.
``docs/backends.md`` states the whole contract.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from neural_jax.ir.plan import error
from neural_jax.ir.registry import LAYERS

__all__ = ["FAMILIES", "fixed", "lookup_rule", "rule_table"]

T = TypeVar("T")

#: every family a backend provides a builder for, in registry order
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(s.family for s in LAYERS.values()))


def rule_table(builders: Mapping[str, Callable[..., T]]) -> dict[str, T]:
    """A backend's rule table: one rule per registered layer, from its builder per family.

    Args:
      builders: family -> ``builder(**spec.options) -> rule``. A family left out leaves its
        layers out of the table: the backend lacks them, and :func:`lookup_rule` says so.

    Returns:
      ``{layer name: rule}`` in registry order.
    """
    return {name: builders[spec.family](**spec.options) for name, spec in LAYERS.items()
            if spec.family in builders}


def fixed(rule: T) -> Callable[[], T]:
    """The builder of a family without variants: it always gives ``rule``."""

    def builder() -> T:
        return rule

    return builder


def lookup_rule(table: Mapping[str, T], plan: Any, backend: str, where: str) -> T:
    """The rule of ``plan``'s layer kind in ``table``.

    Args:
      table: a rule table from :func:`rule_table`.
      plan: a layer plan.
      backend: the backend's name in messages (``"jax"``, ``"pytorch"``...).
      where: what the table belongs to, for the message (``"the JAX backend"``).

    Raises:
      BackendError: the backend lacks this layer kind.
    """
    rule = table.get(plan.type)
    if rule is None:
        raise error(None, plan, f"this layer has no rule in {where}", backend=backend)
    return rule
