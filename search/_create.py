"""Creating, loading and recovering studies: :func:`create_study`, :func:`load_study`."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from search.errors import (
    DuplicateStudyError,
    SearchSpaceError,
    StudyNotFoundError,
)
from search.schedulers.base import Scheduler
from search.space import Space
from search.storage import BaseStorage, get_storage
from search.strategies import get_strategy, strategy_class, strategy_name
from search.strategies.base import Strategy
from search.study import Study

__all__ = ["create_study", "load_study"]

_DIRECTIONS = {"minimize": "minimize", "min": "minimize", "maximize": "maximize", "max": "maximize"}


def _directions(direction: str | None, directions: Sequence[str] | None) -> list[str] | None:
    if direction is not None and directions is not None:
        raise ValueError("give either direction or directions, not both")
    if direction is not None:
        raw = [direction]
    else:
        raw = list(directions) if directions is not None else None
    if raw is None:
        return None
    if not raw:
        raise ValueError("directions must name at least one objective")
    out = []
    for d in raw:
        key = str(getattr(d, "value", d)).lower()
        if key not in _DIRECTIONS:
            raise ValueError(f"direction must be 'minimize' or 'maximize', got {d!r}")
        out.append(_DIRECTIONS[key])
    return out


def _check_strategy(strategy: Any) -> None:
    """Raises TypeError unless ``strategy`` is None, a registry name or a Strategy."""
    if strategy is not None and not isinstance(strategy, (str, Strategy)):
        raise TypeError(f"strategy must be a registry name (e.g. 'tpe') or a search.Strategy "
                        f"instance, got {type(strategy).__name__} {strategy!r}")


def create_study(
    name: str | None = None,
    storage: BaseStorage | str | None = None,
    space: Space | Mapping[str, Any] | None = None,
    strategy: Strategy | str | None = None,
    direction: str | None = None,
    directions: Sequence[str] | None = None,
    load_if_exists: bool = True,
    seed: int | None = None,
    scheduler: Scheduler | None = None,
    requeue_stale: bool = True,
) -> Study:
    """Creates a study, or resumes the one of that name in ``storage``.

    Args:
      name: study name (unique per storage); a random one when ``None``.
      storage: ``None`` (in memory), an SQLAlchemy URL such as ``"sqlite:///hpo.db"``, or a
        storage object.
      space: a :class:`~search.space.Space` or the seed's dict format (needed for a new study).
      strategy: a registry name (``"random"``, ``"tpe"``, ``"gp"``, ...) or an instance;
        ``None`` means ``"random"`` for a new study and the stored strategy on resume.
      direction: ``"minimize"`` (default) or ``"maximize"``.
      directions: one direction per objective, for several objectives.
      load_if_exists: resume an existing study of this name instead of raising.
      seed: makes the study deterministic; drawn and stored when ``None``. Give each worker
        process sharing a study its own seed so they propose different points.
      scheduler: early stopping behind ``trial.should_prune()``.
      requeue_stale: on resume, fail and re-queue trials whose process died while running.

    Raises:
      DuplicateStudyError: the name exists and ``load_if_exists`` is false.
      SearchSpaceError: a malformed space, or one differing from the stored study's.
      StorageError: the storage cannot be opened.
    """
    _check_strategy(strategy)
    store = get_storage(storage)
    name = name or f"study-{uuid.uuid4().hex[:12]}"
    dirs = _directions(direction, directions)
    if store.find_study(name) is None:
        if space is None:
            raise SearchSpaceError(f"study {name!r} does not exist yet: pass space= to create it")
        sp = Space.from_dict(space)
        strat = get_strategy("random" if strategy is None else strategy)
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        info = {"directions": dirs or ["minimize"], "space": sp.to_dict(),
                "strategy": strategy_name(strat), "strategy_config": strat.get_config(),
                "seed": seed}
        try:
            sid = store.create_study(name, info)
        except DuplicateStudyError:
            if not load_if_exists:
                raise
        else:
            return Study(name, store, sid, sp, strat, info["directions"], seed, scheduler,
                         restore_state=False)
    elif not load_if_exists:
        raise DuplicateStudyError(
            f"a study named {name!r} already exists; pass load_if_exists=True to resume it"
        )
    return load_study(name, store, space=space, strategy=strategy,
                      directions=dirs, seed=seed, scheduler=scheduler, requeue_stale=requeue_stale)


def load_study(
    name: str,
    storage: BaseStorage | str,
    space: Space | Mapping[str, Any] | None = None,
    strategy: Strategy | str | None = None,
    directions: Sequence[str] | None = None,
    seed: int | None = None,
    scheduler: Scheduler | None = None,
    requeue_stale: bool = True,
) -> Study:
    """Resumes a stored study: its space, directions, strategy (with state) and trials.

    The strategy is rebuilt from its stored registry name and configuration unless one is
    given; its stored ``state_dict`` is restored when it is the same kind of strategy and
    ``seed`` is ``None`` or the stored seed. Then every finished trial is replayed into it.

    Raises:
      StudyNotFoundError: no study of that name (the message lists the stored ones).
      SearchSpaceError: ``space`` differs from the stored one.
      ValueError: ``directions`` differ from the stored ones.
    """
    _check_strategy(strategy)
    store = get_storage(storage)
    sid = store.find_study(name)
    if sid is None:
        names = store.study_names()
        raise StudyNotFoundError(
            f"no study named {name!r} in {store.url!r}; stored studies: {names or 'none'}"
        )
    info = store.get_study_info(sid)
    sp = Space.from_dict(info["space"])
    if space is not None and Space.from_dict(space) != sp:
        raise SearchSpaceError(
            f"study {name!r} exists with another search space ({info['space']}); "
            "use a new study name or omit space= to resume"
        )
    dirs = _directions(None, directions)
    if dirs is not None and dirs != info["directions"]:
        raise ValueError(f"study {name!r} has directions {info['directions']}, not {dirs}")
    if strategy is None:
        strat = strategy_class(info["strategy"])(**info.get("strategy_config", {}))
    else:
        strat = get_strategy(strategy)
    same_kind = strategy_name(strat) == info["strategy"]
    stored_seed = int(info["seed"])
    restore = same_kind and (seed is None or int(seed) == stored_seed)
    study = Study(name, store, sid, sp, strat, info["directions"],
                  stored_seed if seed is None else int(seed), scheduler, restore_state=restore)
    if requeue_stale:
        study.recover_stale(requeue=True)
    return study
