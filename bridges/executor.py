"""The PyTorch / TensorFlow executor: a round's trials in a pool of worker processes.

:class:`WorkerPoolExecutor` is what :data:`neural_jax.executors.EXECUTORS` names for
``"pytorch"`` and ``"tensorflow"``. Each round goes to :func:`bridges.trials.run_trials`;
with ``workers > 1`` the worker processes (:class:`bridges.trials.TrialPool`) start with the
first round and serve every round of the search, until :meth:`WorkerPoolExecutor.close`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridges.trials import TrialPool, run_trials
from neural_jax.executors.base import Capabilities, Executor
from neural_jax.executors.outcome import TrialOutcome

__all__ = ["WorkerPoolExecutor", "jax_variables"]


class WorkerPoolExecutor(Executor):
    """Trains each trial of a round in PyTorch or TensorFlow, ``workers`` side by side."""

    capabilities = Capabilities(
        frameworks=("pytorch", "tensorflow"), parallel="workers", max_workers=None,
        supports_pbt=False, supports_in_population_schedulers=True, epoch_callbacks=False,
        trains_in_process=False, defers_interrupt=False, needs_program_store=False,
        to_jax_variables="bridges.executor:jax_variables")

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.pool: TrialPool | None = None  # started by the first round, kept for the others

    def run(self, net: Any, dataset: Any, configs: Sequence[Mapping[str, Any]], *,
            trial_ids: Sequence[int], scheduler: Any = None, pbt: Any = None,
            on_epoch: Callable[[int, dict[int, dict]], None] | None = None,
            keep_variables: bool = False) -> list[TrialOutcome]:
        """One round (see :class:`~neural_jax.executors.base.Executor`); each trial is judged
        after every epoch by ``scheduler``, as JAX members are; ``on_epoch`` is not called."""
        if pbt is not None:
            raise ValueError("WorkerPoolExecutor cannot train PBT (capabilities.supports_pbt)")
        s = self.settings
        workers = max(1, int(s.workers))
        if workers > 1 and self.pool is None:
            self.pool = TrialPool(workers)
        return run_trials(net, dataset, configs, s.backend, workers=workers,
                          overrides=s.overrides, scheduler=scheduler, trial_ids=trial_ids,
                          pool=self.pool, keep_variables=keep_variables)

    def close(self, kill: bool = False) -> None:
        """Stops the worker processes (``kill``: at once, abandoning running trials)."""
        if self.pool is not None:
            self.pool.close(kill=kill)
            self.pool = None


def jax_variables(backend: str, net: Any, config: Mapping[str, Any], variables: Any) -> Any:
    """A trial's kept weights in ``backend``'s form as JAX variables (numpy arrays): what
    :class:`neural_jax.population.best.BestKeeper` saves for a PyTorch trial (a ``state_dict``).
    TensorFlow trials already keep JAX-layout variables."""
    if backend != "pytorch":
        return variables
    from bridges.torch import build_module, to_jax_variables

    module = build_module(net, dict(config))
    module.load_state_dict(variables)
    return to_jax_variables(module)
