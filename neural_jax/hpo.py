"""The HPO engine: DSL + search space -> rounds of populations -> best configuration.

::

    from neural_jax.hpo import HPOptimizer
    best = HPOptimizer(strategy="tpe", n_trials=32, population=16).optimize(
        code, dataset_name="digits", search_space={"learning_rate": {...}})

Each round asks the study (:mod:`search`) for a whole population and hands it to the
backend's executor (:mod:`neural_jax.executors`; the round loop is :mod:`neural_jax.engine`):
for JAX the population trainer (one compiled program per bucket of shape-compatible
configurations, in-population successive halving when ``early_stopping=True``), for
PyTorch / TensorFlow a pool of worker processes. Every member's learning curve is reported
and its result told (:mod:`neural_jax.trial_records`), until ``n_trials`` or ``timeout``.
With ``storage=`` the study lives in a database and resumes by name; Ctrl-C keeps every
finished trial and puts the running ones back in the queue.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import pathlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from neural_jax.core.errors import NeuralValidationError, NeuralWarning
from neural_jax.engine_config import EngineConfig
from neural_jax.inputs import (
    BackendUnavailable,
    StrategyUnavailable,
    dataset_for,
    pick_network,
    require_strategy,
    search_methods,
)
from neural_jax.inputs import resolve_backend as _backend
from neural_jax.interrupt import DeferredInterrupt
from neural_jax.methods import METHODS, Method, make_scheduler, resolve_method

__all__ = ["SEARCH_METHODS", "BackendUnavailable", "EngineConfig", "HPOptimizer",
           "StrategyUnavailable", "dataset_for", "optimize_and_return", "pick_network"]

_log = logging.getLogger(__name__)

#: the method registry (:data:`neural_jax.methods.METHODS`), under its former name
SEARCH_METHODS = METHODS

#: the former name of :func:`neural_jax.inputs.pick_network`
_pick_network = pick_network

#: :class:`EngineConfig` fields that :class:`HPOptimizer` shows as attributes (``direction``
#: is the one a search resolved, so it stays the optimizer's own)
_CONFIG_ATTRIBUTES = tuple(f.name for f in dataclasses.fields(EngineConfig)
                           if f.name != "direction")


class HPOptimizer:
    """Searches a DSL network's hyperparameters (the seed's ``HPOptimizer``).

    Its settings are one :class:`neural_jax.engine_config.EngineConfig` (``config``; also
    :meth:`from_config`), checked when it is built; its fields read as attributes.

    Args:
      strategy: a method name of :data:`neural_jax.methods.METHODS` (``"tpe"``, ``"gp"``,
        ``"random"``, ``"grid"``, ``"optuna"``; evosax algorithms ``"cma_es"``, ``"de"``,
        ``"pso"``, ``"ga"``, ``"snes"``, ``"open_es"``, ... or any evosax name;
        ``"pbt"``; ``"hyperband"``, ``"asha"``, ``"sh"``, ``"median"``: random search with
        that scheduler; the seed's names such as ``"BayesianStrategy"``), a
        :class:`search.Strategy` instance, or None to use the network's ``search_method``
        (default ``"tpe"``). ``"pbt"`` trains each round's population with Population
        Based Training inside it (:mod:`neural_jax.population.pbt`): every ``pbt_interval``
        epochs the worst quarter copies the weights of a top member and perturbs its float
        hyperparameters, in the one compiled program. Each trial is then one member:
        ``n_trials`` members in all, ``population`` per PBT population (give
        ``n_trials == population`` for one population); a trial's params are the ones it
        started with, its record's ``lineage`` and ``hyperparams`` (also the trial's
        ``pbt`` user attribute) what it copied and ended with.
      scheduler: early stopping: ``"median"``, ``"sh"``, ``"asha"``, ``"hyperband"``
        (:data:`neural_jax.methods.SCHEDULERS`), a :class:`search.schedulers.Scheduler`,
        or None for the method's own (``hyperband`` has one) or none. A scheduler named
        by both ``strategy`` and ``scheduler`` must be the same one.
      pbt_interval: epochs between PBT steps; default a quarter of the epochs (at least 1).
      n_trials: how many configurations to train in all.
      timeout: seconds; the engine stops starting rounds after it (a round in progress
        finishes) and says so.
      early_stopping: shorthand for ``scheduler="sh"``: successive halving (``eta=2``,
        rungs at epochs 1, 2, 4, ...):
        a trial below the best half of the search's trials at a rung stops training and is
        told as pruned; inside each population for JAX, after every epoch for PyTorch and
        TensorFlow trials.
      parallel_trials: the seed's spelling, with its old meaning per backend: for JAX the
        population (as ``population``), for ``backend="pytorch"``/``"tensorflow"`` the
        worker processes (as ``workers``); ``population`` / ``workers`` win when given.
      storage: SQLAlchemy URL (``"sqlite:///hpo.db"``) or None (in memory).
      seed: makes the search and the training reproducible.
      study_name: resumes that study when it exists in ``storage``.
      population: trials per round: for JAX the members trained together in one program
        (PBT's population), for PyTorch / TensorFlow the trials asked per round; default
        ``min(n_trials, 16)``.
      workers: worker processes training PyTorch / TensorFlow trials side by side (default
        1: in this process); an error for JAX, which trains a round in one program.
      epochs: overrides the network's epochs for every trial.
      data_dir: where dataset files are.
      mode: population execution mode (``"auto"``, ``"vmap"``, ``"patches"``, ``"sequential"``).
      on_start: called once the study is open with ``(finished trials, best value, best
        trial number)`` (the last two None before any trial completed): a resumed study's
        finished trials count toward ``n_trials``, except the failures of re-queued trials
        (:meth:`search.Study.n_counted`).
      on_round: called after each round with ``(round index, list of trial records)``.
      on_epoch: called after every epoch of every bucket of a round with ``(epoch,
        {member index in the round: epoch record})`` (``loss``, ``val_accuracy``...; see
        :func:`neural_jax.population.train_population`). JAX backend only: PyTorch and
        TensorFlow trials report once a round, through ``on_round``.
      compilation_cache: JAX's persistent compilation cache for the compiled training
        programs (:mod:`neural_jax.population.compile_cache`): True (default directory), a
        directory, or False. ``NEURAL_JAX_COMPILATION_CACHE=0`` also turns it off.
      keep_best: keep the weights of the best complete trial (``best_trial``, a
        :class:`neural_jax.population.best.BestTrial`; only the best so far is held during the
        search); :func:`neural_jax.population.best.save_best` writes it as a folder.
    """

    def __init__(self, strategy: Any = None, n_trials: int = 20, timeout: float | None = None,
                 early_stopping: bool = False, parallel_trials: int | None = None,
                 storage: str | None = None, seed: int = 0, study_name: str | None = None,
                 population: int | None = None, epochs: int | None = None,
                 data_dir: str | None = None, mode: str = "auto",
                 on_round: Callable[[int, list[dict]], None] | None = None,
                 on_start: Callable[[int, float | None, int | None], None] | None = None,
                 on_epoch: Callable[[int, dict[int, dict]], None] | None = None,
                 compilation_cache: bool | str = True, keep_best: bool = False,
                 scheduler: Any = None, pbt_interval: int | None = None,
                 workers: int | None = None) -> None:
        config = EngineConfig(
            strategy=strategy, scheduler=scheduler, n_trials=n_trials, timeout=timeout,
            early_stopping=early_stopping, population=population, workers=workers,
            parallel_trials=parallel_trials, epochs=epochs, pbt_interval=pbt_interval,
            seed=seed, storage=storage, study_name=study_name, mode=mode, data_dir=data_dir,
            compilation_cache=compilation_cache, keep_best=keep_best)
        self._init(config, on_round, on_start, on_epoch)

    @classmethod
    def from_config(cls, config: EngineConfig, *,
                    on_round: Callable[[int, list[dict]], None] | None = None,
                    on_start: Callable[[int, float | None, int | None], None] | None = None,
                    on_epoch: Callable[[int, dict[int, dict]], None] | None = None
                    ) -> HPOptimizer:
        """The optimizer of a search that ``config`` describes (what the ``neural hpo``
        flags and the ``experiments/`` config files build), with its callbacks."""
        opt = cls.__new__(cls)
        opt._init(config, on_round, on_start, on_epoch)
        return opt

    def _init(self, config: EngineConfig, on_round, on_start, on_epoch) -> None:
        self.config = config
        self.direction: str | None = None  # the direction optimize() searched in
        self.on_round = on_round
        self.on_start = on_start
        self.on_epoch = on_epoch
        self.program_store = None  # set when the compilation cache is on (hits, misses)
        self._executor = None  # the executor of a search in progress
        self._reset()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CONFIG_ATTRIBUTES:  # opt.timeout = 5: a new, checked configuration
            self.config = self.config.replace(**{name: value})
        else:
            super().__setattr__(name, value)

    def __getattr__(self, name: str) -> Any:
        if name in _CONFIG_ATTRIBUTES and "config" in self.__dict__:
            return getattr(self.config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def config(self) -> EngineConfig:
        """The search's :class:`EngineConfig`; its fields also read (and set) as attributes
        of the optimizer (``opt.n_trials``, ``opt.timeout = 5``)."""
        return self.__dict__["config"]

    @config.setter
    def config(self, config: EngineConfig) -> None:
        if not isinstance(config, EngineConfig):
            raise TypeError(f"config must be an EngineConfig, got {type(config).__name__}")
        self._method, self._scheduler = search_methods(config)  # an unknown name fails here
        self.__dict__["config"] = config

    def _reset(self) -> None:
        """Forgets the outcome of an earlier :meth:`optimize`: each search reports its own."""
        self.best_trial = None  # the best complete trial with its weights, when keep_best
        self.study = None
        self.trials: list[dict[str, Any]] = []
        self.best_params: dict[str, Any] = {}
        self.best_value: float | None = None
        self.network = None
        self.interrupted = False
        self.timed_out = False
        self.already_complete = False
        self._running: list = []

    # -------------------------------------------------------------------------------------

    def _plan(self, net, params) -> tuple[Any, Any, Any]:
        """``(strategy, scheduler, pbt)`` of this search of ``net``: the strategy instance
        for the study, a fresh scheduler or None, :class:`PBT` settings or None."""
        import search
        from neural_jax.population.pbt import PBT

        method = self._method
        if method is None:  # the network's search_method
            name = net.train.search_method if isinstance(net.train.search_method, str) else None
            method = resolve_method(name or "tpe")[1]
            require_strategy(method, name)  # before the data loads or a study is stored
        if isinstance(method, Method):
            strategy = search.get_strategy(method.strategy, **dict(method.options))
        else:
            strategy = method
        scheduler = self._scheduler if self._scheduler is not None else getattr(
            method, "scheduler", None)
        epochs = _longest_training(net, params, self.epochs)
        if isinstance(scheduler, str):
            scheduler = make_scheduler(scheduler, epochs)
        pbt = None
        if getattr(method, "pbt", False):
            pbt = PBT(interval=self.pbt_interval or max(1, epochs // 4), seed=self.seed)
        return strategy, scheduler, pbt

    def optimize(self, neural_code: str, dataset_name: str = "digits",
                 backend: str | None = None, search_space: Mapping[str, Any] | None = None,
                 metric: str | None = None, direction: str | None = None, dataset: Any = None,
                 network: str | None = None) -> dict[str, Any]:
        """Runs the search; returns the best parameters keyed by path (SPEC §4).

        Args:
          backend: which executor trains the trials (:data:`neural_jax.executors.EXECUTORS`:
            ``"jax"``, ``"pytorch"``, ``"tensorflow"`` or a spelling of one); None: the
            config's (default ``"jax"``).
          network: which network of a file holding several (default: the first, with a
            warning naming the others).
          metric: (None: the config's, default ``val_accuracy``) what a trial's value is: a
            metric the network's training records (:func:`neural_jax.objective.available_metrics`:
            ``val_accuracy``, ``val_loss``, ...); any other name fails before training.
          direction: ``"maximize"`` or ``"minimize"``; None: the config's, else inferred from
            the metric (losses and errors are minimized); one contradicting the metric is an
            error.
          dataset: the data, instead of ``dataset_name``: a :class:`neural_jax.data.Dataset`,
            ``(x, y)`` (or ``(x, y, x_test, y_test)``) arrays, the path of an ``.npz`` or
            ``.csv`` file (label column ``label``/``target``/``class``/``y``, else the last),
            or a dataset name (:func:`neural_jax.data.as_dataset`); ``"synthetic"`` without
            options is shaped for the network (:mod:`neural_jax.data.network_fit`).

        A trial whose training diverged (:mod:`neural_jax.train.divergence`) is stored as
        FAILED with its reason; every failed trial's reason is in the study
        (``system_attrs["fail_reason"]``, shown by ``neural trials``). Ctrl-C puts the
        running trials back in the queue of a stored study (a resume trains them) and keeps
        every finished one; ``self.interrupted`` is then True. In a JAX search called from
        the main thread the first Ctrl-C stops the search after the current epoch (it says
        so; :class:`neural_jax.interrupt.DeferredInterrupt`), a second one at once.

        Raises:
          NeuralSyntaxError / NeuralValidationError: bad DSL or search space.
          MetricError: a metric the training does not record, or a contradicting direction.
          BackendUnavailable: ``"pytorch"``/``"tensorflow"`` without that framework installed.
          StrategyUnavailable: the network's ``search_method`` needs a library that is not
            installed (``"optuna"``); a ``strategy=`` argument fails so when it is given.
          DatasetError: unknown dataset or missing files (with what to put where).
        """
        from neural_jax.engine import check_workers
        from neural_jax.executors import executor_class

        backend = _backend(self.config.backend if backend is None else backend)
        runner = executor_class(backend)
        check_workers(self.config, runner.capabilities, backend)
        metric = self.config.metric if metric is None else metric
        direction = self.config.direction if direction is None else direction
        # Ctrl-C in a JAX search is only recorded, and raised between epochs and rounds: a
        # KeyboardInterrupt inside XLA's callbacks aborts the process or is swallowed
        stop = DeferredInterrupt() if runner.capabilities.defers_interrupt else None
        with stop if stop is not None else contextlib.nullcontext():
            return self._optimize(stop, runner, neural_code, dataset_name, backend,
                                  search_space, metric, direction, dataset, network)

    def _optimize(self, stop: DeferredInterrupt | None, runner: type, neural_code: str,
                  dataset_name: str, backend: str, search_space: Mapping[str, Any] | None,
                  metric: str, direction: str | None, dataset: Any,
                  network: str | None) -> dict[str, Any]:
        """:meth:`optimize` once its backend and executor class (``runner``) are known;
        ``stop`` is the search's deferred Ctrl-C (JAX), checked between epochs and rounds."""
        import search
        from neural_jax.engine import check_capabilities, rounds_of, run_rounds
        from neural_jax.executors import ExecutorSettings, load_ref
        from neural_jax.ir.checker import check
        from neural_jax.ir.lift import lift
        from neural_jax.ir.space import bind_search_space, to_space_dict
        from neural_jax.objective import check_metric, resolve_direction

        direction = resolve_direction(metric, direction)
        self._reset()
        self.direction = direction
        if search_space is not None and not isinstance(search_space, Mapping):
            raise NeuralValidationError(
                f"search_space must be a dict of search values by path, got "
                f"{type(search_space).__name__} {search_space!r}",
                hint='e.g. {"optimizer.learning_rate": {"type": "float", "min": 1e-4, '
                     '"max": 1e-2, "log": True}}')
        net0 = pick_network(neural_code, network)
        params = bind_search_space(net0, search_space)
        fixed = self._fixed_epochs(net0, params)
        if fixed:
            params = tuple(p for p in params if p not in fixed)
        if not params:
            raise NeuralValidationError(
                f"network '{net0.name}' has nothing to search",
                hint="mark values with HPO(...) or pass search_space={...}")
        net = lift(net0, params)
        if fixed:  # every trial trains the forced epochs: the network says so
            net = dataclasses.replace(net, train=dataclasses.replace(net.train,
                                                                     epochs=self.epochs))
        check(net)
        check_metric(net, metric)
        self.network = net
        strategy, scheduler, pbt = self._plan(net, params)
        caps = runner.capabilities
        check_capabilities(caps, backend, pbt, scheduler)
        dataset = dataset_for(net, dataset_name if dataset is None else dataset,
                              **({"data_dir": self.data_dir} if self.data_dir else {}))
        self._num_classes = dataset.num_classes
        space = to_space_dict(params)
        store = self._program_store() if caps.needs_program_store else None
        self.study = search.create_study(
            name=self.study_name, storage=self.storage, space=space,
            strategy=strategy, direction=direction, seed=self.seed)
        pop, workers = self.config.sizes(caps.parallel)
        overrides = {"epochs": self.epochs} if self.epochs else None
        # COMPLETE, PRUNED and FAILED trials count toward n_trials, except failures whose
        # configuration was re-queued (their waiting copy counts once trained)
        done = self.study.n_counted()
        self.already_complete = done >= self.n_trials
        if self.on_start is not None:
            try:
                best = self.study.best_trial
                best_value, best_number = float(best.values[0]), best.number
            except ValueError:  # no complete trial yet
                best_value = best_number = None
            self.on_start(done, best_value, best_number)
        rounds = rounds_of(self.n_trials, done, pop)
        keeper = None
        if self.keep_best:  # only the best trial's weights are held, never a whole search's
            from neural_jax.population.best import BestKeeper

            to_jax = load_ref(caps.to_jax_variables) if caps.to_jax_variables else None
            keeper = BestKeeper(direction, to_jax=to_jax, backend=backend, mode=self.mode,
                                rounds=rounds, epochs=self.epochs)
        self._executor = runner(ExecutorSettings(
            backend=backend, population=pop, workers=workers, mode=self.mode, rounds=rounds,
            overrides=overrides, program_store=store))
        try:
            run_rounds(self, self._executor, net, dataset, metric=metric, population=pop,
                       done=done, scheduler=scheduler, pbt=pbt, keeper=keeper, stop=stop)
        finally:
            self._executor = None
        return self._finish(fixed)

    def _finish(self, fixed: tuple) -> dict[str, Any]:
        """The best parameters of the study (after the warnings of a timeout or of no
        complete trial)."""
        import search

        if self.timed_out:
            warnings.warn(NeuralWarning(
                f"timeout of {self.timeout:g}s reached after {len(self.trials)} trials "
                f"(of {self.n_trials}); returning the best so far"), stacklevel=4)
        complete = [t for t in self.study.trials if t.state == search.TrialState.COMPLETE]
        if not complete:
            first = next((t.get("message") for t in self.trials if t.get("message")), "")
            warnings.warn(NeuralWarning("no trial completed; nothing to return"
                                        + (f" (first failure: {first})" if first else "")),
                          stacklevel=4)
            return {}
        self.best_params = dict(self.study.best_params)
        if fixed:  # the epochs the trials trained, not a value of the file's range
            self.best_params.update((p.name, self.epochs) for p in fixed)
        self.best_value = float(self.study.best_value)
        return dict(self.best_params)

    #: how a forced ``epochs`` is named in the warning that a searched ``train.epochs`` is
    #: not searched (``{epochs}`` filled in); the ``neural`` command words it as its flag
    epochs_hint = "epochs={epochs}"

    def _fixed_epochs(self, net, params) -> tuple:
        """The searched parameters that set ``train.epochs`` when ``epochs=`` overrides it:
        not searched (every trial trains ``self.epochs``), with a warning; () otherwise.

        Raises:
          NeuralValidationError: ``train.epochs`` was the only searched value.
        """
        if not self.epochs:
            return ()
        fixed = tuple(p for p in params if "train.epochs" in p.targets)
        if not fixed:
            return ()
        how = self.epochs_hint.format(epochs=self.epochs)
        if len(fixed) == len(params):
            raise NeuralValidationError(
                f"network '{net.name}' has nothing to search: train.epochs is its only "
                f"searched value, and {how} fixes it",
                hint="leave the epochs to the search, or mark other values with HPO(...)")
        warnings.warn(NeuralWarning(
            f"train.epochs is not searched: {how} fixes the epochs of every trial"),
            stacklevel=4)
        return fixed

    def _own_running(self) -> list:
        """This process's running trials: the round's, and any an interrupted ``ask`` had
        already stored."""
        import search
        from search.storage import worker_id

        me = worker_id()
        numbers = {t.number for t in getattr(self, "_running", [])}
        numbers |= {t.number for t in self.study.get_trials([search.TrialState.RUNNING])
                    if t.system_attrs.get("worker") == me}
        return sorted(numbers)

    #: how an interrupted search says to resume (``{study}`` and ``{storage}`` filled in) and
    #: to make a search resumable; the ``neural`` command words them as its flags
    resume_hint = "study_name={study!r} and the same storage"
    persist_hint = "storage= and study_name="

    def interrupt_message(self, requeued: int) -> str:
        """What an interrupted search says: what was kept and how to resume.

        Args:
          requeued: running trials put back in the queue.
        """
        kept = f"{self.study.n_counted()} finished trials"
        if self.storage is None:
            return (f"interrupted: {kept} were in memory only and are lost; pass "
                    f"{self.persist_hint} to make a search resumable")
        again = (f" and {requeued} running trial{'s' if requeued != 1 else ''} re-queued"
                 if requeued else "")
        how = self.resume_hint.format(study=self.study.name, storage=self.storage)
        return (f"interrupted: {kept} kept{again} in the study {self.study.name!r}; "
                f"run again with {how} to resume")

    def _program_store(self):
        """Turns the persistent compilation cache on (unless disabled) and returns the
        program store beside it, or None."""
        from neural_jax.population.compile_cache import (
            enable_compilation_cache,
            program_store_bytes,
        )
        from neural_jax.population.program_store import ProgramStore

        cache = enable_compilation_cache(self.compilation_cache)  # a bad size limit fails here
        if not cache:
            return None
        self.program_store = ProgramStore(pathlib.Path(cache) / "programs", program_store_bytes())
        return self.program_store


def _longest_training(net, params, epochs: int | None) -> int:
    """The most epochs a trial of the search trains (Hyperband's maximum resource)."""
    if epochs:
        return int(epochs)
    for p in params:
        if p.name in ("train.epochs", "epochs"):
            values = p.choices if p.kind == "categorical" else (p.high,)
            return max(int(v) for v in values)
    from neural_jax.train.spec import training_spec

    return training_spec(net).epochs


def optimize_and_return(neural_code: str, n_trials: int = 20, dataset_name: str = "digits",
                        backend: str = "jax", search_space: Mapping[str, Any] | None = None,
                        **kwargs: Any) -> dict[str, Any]:
    """The seed's one-call API: runs :class:`HPOptimizer` and returns the best parameters."""
    return HPOptimizer(n_trials=n_trials, **kwargs).optimize(
        neural_code, dataset_name=dataset_name, backend=backend, search_space=search_space)
