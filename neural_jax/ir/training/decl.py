"""The declaration record of a training name and the name lookup shared by its registries.

A :class:`TrainingDecl` is what every reader of a training name needs and nothing a backend
computes: the canonical name, the signature (:class:`~neural_jax.ir.params.ParamSpec` in
positional order, Keras names, defaults, domains), the other spellings of the name and of
its arguments, and which arguments fix the compiled program (``structural``). Kind-specific
facts sit in the subclasses of :mod:`neural_jax.ir.training`'s registries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from neural_jax.ir.params import REQUIRED, ParamSpec

__all__ = ["TrainingDecl", "lookup", "canonical_arg", "spellings"]


@dataclass(frozen=True)
class TrainingDecl:
    """One optimizer, schedule, loss or metric.

    Attributes:
      name: the canonical name (Keras' class name or loss/metric string).
      params: the arguments in positional order, with Keras names, defaults and domains.
      aliases: other spellings of the name (case is ignored everywhere anyway).
      arg_aliases: other spellings of argument names, mapped to the canonical ones.
      structural: the arguments whose value changes the compiled program (flags,
        numbers used only at initialisation, list lengths); the others may differ per
        population member.
    """

    name: str
    params: tuple[ParamSpec, ...]
    aliases: tuple[str, ...] = ()
    arg_aliases: Mapping[str, str] = field(default_factory=dict)
    structural: frozenset[str] = frozenset()

    @property
    def arg_names(self) -> tuple[str, ...]:
        """The canonical argument names in positional order."""
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> ParamSpec:
        """The argument ``name`` (canonical or an alias); KeyError if it has none."""
        name = self.arg_aliases.get(name, name)
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        """Keras defaults of the arguments that have one."""
        return {p.name: p.default for p in self.params if p.default is not REQUIRED}


D = TypeVar("D", bound=TrainingDecl)


def spellings(table: Mapping[str, D]) -> dict[str, str]:
    """Every accepted spelling of a registry's names, lower-cased, -> the canonical name."""
    out: dict[str, str] = {}
    for key, decl in table.items():
        out[key.lower()] = key
        for alias in decl.aliases:
            out[alias.lower()] = key
    return out


def lookup(table: Mapping[str, D], name: Any) -> str | None:
    """The canonical key of ``table`` that ``name`` spells (any case, or an alias), or None."""
    if not isinstance(name, str):
        return None
    return spellings(table).get(name.strip().lower())


def canonical_arg(decl: TrainingDecl, name: str) -> str:
    """``name`` with an argument alias of ``decl`` replaced by its canonical name."""
    return decl.arg_aliases.get(name, name)
