"""``from neural.hpo.strategies import BayesianStrategy`` (and the other seed strategies)."""

from search.strategies import (
    BayesianStrategy,
    EvolutionaryStrategy,
    GridStrategy,
    RandomStrategy,
    TPEStrategy,
)

__all__ = ["BayesianStrategy", "EvolutionaryStrategy", "GridStrategy", "RandomStrategy",
           "TPEStrategy"]
