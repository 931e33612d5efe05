"""evosax algorithm names: the registry, the short names, and any spelling of either.

``resolve_algorithm("CMA-ES")`` is ``"CMA_ES"``, ``resolve_algorithm("de")`` is
``"DifferentialEvolution"``; case, ``-``, ``_`` and spaces are ignored.
"""

from __future__ import annotations

__all__ = ["SHORT_NAMES", "algorithm_class", "available_algorithms", "resolve_algorithm"]

#: short and common names -> evosax registry names (any spelling of a registry name works
#: too: case, ``-``, ``_`` and spaces are ignored, so ``"cmaes"`` and ``"CMA-ES"`` are ``CMA_ES``)
SHORT_NAMES: dict[str, str] = {
    "cma_es": "CMA_ES", "sep_cma_es": "Sep_CMA_ES", "de": "DifferentialEvolution",
    "differential_evolution": "DifferentialEvolution", "pso": "PSO", "ga": "SimpleGA",
    "simple_ga": "SimpleGA", "genetic": "SimpleGA", "snes": "SNES", "xnes": "xNES",
    "open_es": "Open_ES", "openai_es": "Open_ES", "pgpe": "PGPE", "simple_es": "SimpleES",
    "ars": "ARS", "ma_es": "MA_ES", "lm_ma_es": "LM_MA_ES", "cr_fm_nes": "CR_FM_NES",
    "simulated_annealing": "SimulatedAnnealing", "hill_climbing": "HillClimbing",
}


def available_algorithms() -> list[str]:
    """Names accepted by ``Evolution(algorithm=...)`` (evosax's registry)."""
    from evosax.algorithms import algorithms

    return sorted(algorithms)


def _fold(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def resolve_algorithm(name: str) -> str:
    """The evosax registry name for ``name``: a registry name in any spelling
    (``"cmaes"``, ``"CMA-ES"``, ``"open_es"``) or a short name of :data:`SHORT_NAMES`
    (``"de"``, ``"ga"``, ``"pso"``).

    Raises:
      ValueError: no such algorithm (with a did-you-mean and the names).
    """
    import difflib

    if not isinstance(name, str):
        raise TypeError(f"algorithm must be an evosax algorithm name, got {name!r}")
    names = available_algorithms()
    if name in names:
        return name
    folded = {_fold(n): n for n in names} | {_fold(k): v for k, v in SHORT_NAMES.items()}
    if _fold(name) in folded:
        return folded[_fold(name)]
    close = difflib.get_close_matches(_fold(name), list(folded), n=1, cutoff=0.6)
    hint = f" Did you mean {folded[close[0]]!r}?" if close else ""
    raise ValueError(f"unknown evosax algorithm {name!r}.{hint} Choose one of: "
                     + ", ".join(names) + " (or " + ", ".join(sorted(SHORT_NAMES)) + ")")


def algorithm_class(name: str) -> type:
    """The evosax algorithm class for ``name`` (any spelling :func:`resolve_algorithm` takes)."""
    from evosax.algorithms import algorithms

    return algorithms[resolve_algorithm(name)]
