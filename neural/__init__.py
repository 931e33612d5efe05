"""Compatibility names of the original Neural DSL package, so that its README runs as written.

``neural.hpo.hpo``, ``neural.hpo.strategies``, ``neural.hpo.visualization``,
``neural.code_generation.code_generator`` and ``neural.parser.parser`` re-export the
implementations in :mod:`neural_jax` and :mod:`search`.
"""
