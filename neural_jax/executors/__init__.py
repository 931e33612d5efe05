"""Executors: what trains a round of trial configurations and returns their outcomes.

* :class:`Executor` (the contract) and :class:`Capabilities` (what the engine may ask).
* :data:`EXECUTORS`: backend name -> lazy ``"module:Class"``; :func:`executor_class`.
* :func:`normalize_backend`: spellings (``torch``, ``tf``, ``keras``...) -> canonical names.
* :class:`TrialOutcome`: the one record every executor returns per trial.
"""

from neural_jax.executors.backends import BACKENDS, UnknownBackend, normalize_backend
from neural_jax.executors.base import Capabilities, Executor, ExecutorSettings
from neural_jax.executors.outcome import TrialOutcome
from neural_jax.executors.registry import EXECUTORS, executor_class, load_ref

__all__ = ["BACKENDS", "EXECUTORS", "Capabilities", "Executor", "ExecutorSettings",
           "TrialOutcome", "UnknownBackend", "executor_class", "load_ref", "normalize_backend"]
