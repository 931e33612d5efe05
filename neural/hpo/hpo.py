"""``from neural.hpo.hpo import optimize_and_return, HPOptimizer``."""

from neural_jax.hpo import HPOptimizer, optimize_and_return

__all__ = ["HPOptimizer", "optimize_and_return"]
