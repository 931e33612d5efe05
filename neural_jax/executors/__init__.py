"""Executors: what runs a batch of trial configurations and returns their outcomes."""

from neural_jax.executors.outcome import TrialOutcome

__all__ = ["TrialOutcome"]
