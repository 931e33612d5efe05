"""SQLAlchemy storage: any database URL SQLAlchemy 2.x can open (SQLite, PostgreSQL, MySQL).

Plain SQLAlchemy Core, two tables (``search_studies``, ``search_trials``), JSON in text
columns so every backend stores the same thing. Concurrency:

* trial numbers come from a per-study counter bumped by an ``UPDATE`` that opens the
  transaction: the row lock (PostgreSQL) or the write lock (SQLite) serialises writers, and a
  unique ``(study_id, number)`` constraint backs it up;
* waiting trials are claimed with ``UPDATE ... WHERE state = 'WAITING'`` and a row count check;
* SQLite waits for a busy database (``timeout``), and every transaction is retried with
  backoff on "database is locked" for up to ``lock_timeout`` seconds.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import StaticPool

from search._base_storage import BaseStorage
from search.errors import (
    DuplicateStudyError,
    StorageError,
    StudyNotFoundError,
    TrialFinishedError,
    TrialNotFoundError,
)
from search.trial import FrozenTrial, TrialState, utcnow

__all__ = ["SQLStorage"]

T = TypeVar("T")
_OPEN = (TrialState.WAITING.value, TrialState.RUNNING.value)

_md = MetaData()
_studies = Table(
    "search_studies", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(512), nullable=False, unique=True),
    Column("info", Text, nullable=False),
    Column("strategy_state", Text),
    Column("next_number", Integer, nullable=False, default=0),
    Column("created", DateTime(timezone=True)),
)
_trials = Table(
    "search_trials", _md,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "study_id", Integer, ForeignKey("search_studies.id", ondelete="CASCADE"), nullable=False
    ),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("x", Text),
    Column("vals", Text),
    Column("intermediate", Text, nullable=False, default="{}"),
    Column("user_attrs", Text, nullable=False, default="{}"),
    Column("system_attrs", Text, nullable=False, default="{}"),
    Column("datetime_start", DateTime(timezone=True)),
    Column("datetime_complete", DateTime(timezone=True)),
    UniqueConstraint("study_id", "number", name="uq_search_trial_number"),
    Index("ix_search_trials_study_state", "study_id", "state"),
)


def _is_lock(e: BaseException) -> bool:
    msg = str(getattr(e, "orig", e)).lower()
    return "locked" in msg or "busy" in msg or "deadlock" in msg or "could not serialize" in msg


def _dumps(v: Any) -> str:
    try:
        return json.dumps(v)
    except TypeError as e:
        raise TypeError(f"cannot store {v!r}: values must be JSON-serialisable ({e})") from None


def _utc(d: _dt.datetime | None) -> _dt.datetime | None:
    return d.replace(tzinfo=_dt.UTC) if d is not None and d.tzinfo is None else d


class SQLStorage(BaseStorage):
    """A storage in any relational database SQLAlchemy can reach.

    Args:
      url: an SQLAlchemy URL, e.g. ``"sqlite:///hpo.db"`` or ``"postgresql://u@h/db"``.
      lock_timeout: seconds to keep retrying a transaction on a locked database.
      engine_kwargs: extra arguments for :func:`sqlalchemy.create_engine`.

    Raises:
      StorageError: the URL cannot be parsed or opened, the driver is missing, or the file
        is not a database; the message names the URL.
    """

    def __init__(
        self, url: str, lock_timeout: float = 60.0,
        engine_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.lock_timeout = float(lock_timeout)
        try:
            u = make_url(url)
        except ArgumentError:
            raise StorageError(
                f"cannot parse storage URL {url!r}; expected e.g. 'sqlite:///hpo.db' or "
                "'postgresql://user:password@host/dbname'"
            ) from None
        self.url = u.render_as_string(hide_password=True)
        kwargs: dict[str, Any] = dict(engine_kwargs or {})
        sqlite = u.get_backend_name() == "sqlite"
        if sqlite:
            args = dict(kwargs.pop("connect_args", {}))
            args.setdefault("timeout", 30.0)  # the driver's busy timeout, in seconds
            if u.database in (None, "", ":memory:"):
                kwargs.setdefault("poolclass", StaticPool)  # one shared in-memory database
                args.setdefault("check_same_thread", False)
            else:
                folder = os.path.dirname(os.path.abspath(u.database))
                if not os.path.isdir(folder):
                    raise StorageError(
                        f"cannot open storage {self.url!r}: folder {folder!r} does not exist"
                    )
            kwargs["connect_args"] = args
        try:
            self.engine = create_engine(u, **kwargs)
        except (NoSuchModuleError, ImportError, ArgumentError, TypeError) as e:
            raise StorageError(f"cannot open storage {self.url!r}: {e}") from None
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_on_connect)
        self._create_schema()

    def __repr__(self) -> str:
        return f"SQLStorage({self.url!r})"

    # -- plumbing --------------------------------------------------------------------------
    def _error(self, e: BaseException) -> StorageError:
        msg = str(getattr(e, "orig", e))
        if "not a database" in msg or "malformed" in msg:
            return StorageError(
                f"storage {self.url!r} is not a readable database ({msg}); it may be corrupt. "
                "Move the file away or use another URL."
            )
        if _is_lock(e):
            return StorageError(
                f"storage {self.url!r} stayed locked for more than {self.lock_timeout:g} s ({msg})"
            )
        return StorageError(f"storage {self.url!r}: {msg}")

    def _run(self, fn: Callable[[Connection], T]) -> T:
        """Runs ``fn`` in one transaction, retrying it while the database is locked."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while True:
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except OperationalError as e:
                if _is_lock(e) and time.monotonic() < deadline:
                    time.sleep(delay * (1.0 + random.random()))
                    delay = min(delay * 2.0, 0.25)
                    continue
                raise self._error(e) from None
            except IntegrityError:
                raise
            except SQLAlchemyError as e:
                raise self._error(e) from None

    def _create_schema(self) -> None:
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                _md.create_all(self.engine)
                return
            except OperationalError as e:
                # Two processes creating the tables at once: the loser retries and finds them.
                if ("already exists" in str(e) or _is_lock(e)) and time.monotonic() < deadline:
                    time.sleep(0.02 + 0.05 * random.random())
                    continue
                raise self._error(e) from None
            except SQLAlchemyError as e:
                raise self._error(e) from None

    @staticmethod
    def _frozen(r: Any) -> FrozenTrial:
        return FrozenTrial(
            number=r.number,
            state=TrialState(r.state),
            params=json.loads(r.params),
            values=None if r.vals is None else tuple(json.loads(r.vals)),
            intermediate_values={
                int(k): float(v) for k, v in json.loads(r.intermediate or "{}").items()
            },
            datetime_start=_utc(r.datetime_start),
            datetime_complete=_utc(r.datetime_complete),
            user_attrs=json.loads(r.user_attrs or "{}"),
            system_attrs=json.loads(r.system_attrs or "{}"),
            x=None if r.x is None else tuple(json.loads(r.x)),
        )

    def _missing(self, conn: Connection, study_id: int, number: int, action: str) -> Exception:
        state = conn.execute(
            select(_trials.c.state)
            .where(_trials.c.study_id == study_id, _trials.c.number == number)
        ).scalar_one_or_none()
        if state is None:
            return TrialNotFoundError(f"study has no trial number {number}")
        return TrialFinishedError(f"trial {number} is already {state.lower()}; cannot {action}")

    # -- studies ---------------------------------------------------------------------------
    def create_study(self, name: str, info: Mapping[str, Any]) -> int:
        try:
            return self._run(lambda c: c.execute(
                insert(_studies).values(
                    name=name, info=_dumps(dict(info)), next_number=0, created=utcnow())
            ).inserted_primary_key[0])
        except IntegrityError:
            raise DuplicateStudyError(
                f"a study named {name!r} already exists in {self.url!r}; "
                "pass load_if_exists=True to resume it"
            ) from None

    def find_study(self, name: str) -> int | None:
        return self._run(lambda c: c.execute(
            select(_studies.c.id).where(_studies.c.name == name)).scalar_one_or_none())

    def get_study_info(self, study_id: int) -> dict[str, Any]:
        row = self._run(lambda c: c.execute(
            select(_studies.c.name, _studies.c.info).where(_studies.c.id == study_id)).first())
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self.url!r}")
        return json.loads(row.info) | {"name": row.name}

    def study_names(self) -> list[str]:
        return list(self._run(lambda c: c.execute(
            select(_studies.c.name).order_by(_studies.c.id)).scalars().all()))

    def delete_study(self, name: str) -> None:
        def fn(c: Connection) -> None:
            sid = c.execute(
                select(_studies.c.id).where(_studies.c.name == name)).scalar_one_or_none()
            if sid is None:
                raise StudyNotFoundError(f"no study named {name!r} in {self.url!r}")
            c.execute(delete(_trials).where(_trials.c.study_id == sid))
            c.execute(delete(_studies).where(_studies.c.id == sid))
        self._run(fn)

    def set_strategy_state(self, study_id: int, state: Mapping[str, Any]) -> None:
        self._run(lambda c: c.execute(
            update(_studies).where(_studies.c.id == study_id)
            .values(strategy_state=_dumps(dict(state)))))

    def get_strategy_state(self, study_id: int) -> dict[str, Any] | None:
        raw = self._run(lambda c: c.execute(
            select(_studies.c.strategy_state).where(_studies.c.id == study_id)
        ).scalar_one_or_none())
        return None if raw is None else json.loads(raw)

    # -- trials ----------------------------------------------------------------------------
    def create_trials(self, study_id, items, strategy_state=None):
        items = list(items)

        def fn(c: Connection) -> list[FrozenTrial]:
            now = utcnow()
            if items:
                # The UPDATE comes first so the transaction holds the write lock before reading.
                r = c.execute(update(_studies).where(_studies.c.id == study_id)
                              .values(next_number=_studies.c.next_number + len(items)))
                if r.rowcount == 0:
                    raise StudyNotFoundError(f"no study with id {study_id} in {self.url!r}")
                end = c.execute(
                    select(_studies.c.next_number).where(_studies.c.id == study_id)).scalar_one()
                rows = []
                for i, item in enumerate(items):
                    state = TrialState.parse(item.get("state", TrialState.RUNNING))
                    rows.append(dict(
                        study_id=study_id, number=end - len(items) + i, state=state.value,
                        params=_dumps(dict(item["params"])),
                        x=None if item.get("x") is None else _dumps([float(v) for v in item["x"]]),
                        vals=None, intermediate="{}",
                        user_attrs=_dumps(dict(item.get("user_attrs") or {})),
                        system_attrs=_dumps(dict(item.get("system_attrs") or {})),
                        datetime_start=now if state == TrialState.RUNNING else None,
                        datetime_complete=None,
                    ))
                c.execute(insert(_trials), rows)
            if strategy_state is not None:
                c.execute(update(_studies).where(_studies.c.id == study_id)
                          .values(strategy_state=_dumps(dict(strategy_state))))
            if not items:
                return []
            res = c.execute(select(_trials).where(
                _trials.c.study_id == study_id, _trials.c.number >= end - len(items),
                _trials.c.number < end,
            ).order_by(_trials.c.number))
            return [self._frozen(r) for r in res]

        return self._run(fn)

    def claim_waiting(self, study_id, max_n, worker):
        if max_n <= 0:
            return []
        cands = self._run(lambda c: c.execute(
            select(_trials.c.id, _trials.c.system_attrs)
            .where(_trials.c.study_id == study_id, _trials.c.state == TrialState.WAITING.value)
            .order_by(_trials.c.number)).all())
        claimed: list[FrozenTrial] = []
        for cand in cands:
            if len(claimed) >= max_n:
                break
            attrs = json.loads(cand.system_attrs or "{}") | {"worker": worker}

            def fn(c: Connection, cand=cand, attrs=attrs) -> FrozenTrial | None:
                r = c.execute(update(_trials)
                              .where(_trials.c.id == cand.id,
                                     _trials.c.state == TrialState.WAITING.value)
                              .values(state=TrialState.RUNNING.value, datetime_start=utcnow(),
                                      system_attrs=_dumps(attrs)))
                if r.rowcount != 1:
                    return None  # another process claimed it first
                return self._frozen(c.execute(select(_trials).where(_trials.c.id == cand.id)).one())

            t = self._run(fn)
            if t is not None:
                claimed.append(t)
        return claimed

    def finish_trial(self, study_id, number, state, values, system_attrs=None):
        def fn(c: Connection) -> FrozenTrial:
            where = (_trials.c.study_id == study_id, _trials.c.number == number)
            r = c.execute(update(_trials).where(*where, _trials.c.state.in_(_OPEN)).values(
                state=TrialState(state).value, datetime_complete=utcnow(),
                vals=None if values is None else _dumps([float(v) for v in values])))
            if r.rowcount != 1:
                raise self._missing(c, study_id, number, "tell it again")
            if system_attrs:
                old = json.loads(
                    c.execute(select(_trials.c.system_attrs).where(*where)).scalar_one() or "{}")
                c.execute(update(_trials).where(*where)
                          .values(system_attrs=_dumps(old | dict(system_attrs))))
            return self._frozen(c.execute(select(_trials).where(*where)).one())

        return self._run(fn)

    def requeue_trial(self, study_id, number, reason):
        def fn(c: Connection) -> int | None:
            where = (_trials.c.study_id == study_id, _trials.c.number == number,
                     _trials.c.state == TrialState.RUNNING.value)
            old = c.execute(select(_trials.c.system_attrs).where(*where)).scalar_one_or_none()
            if old is None:
                return None
            attrs = json.loads(old or "{}")
            attrs.pop("worker", None)
            attrs["requeued"] = int(attrs.get("requeued", 0)) + 1
            attrs["requeue_reason"] = reason
            r = c.execute(update(_trials).where(*where).values(
                state=TrialState.WAITING.value, datetime_start=None, intermediate="{}",
                system_attrs=_dumps(attrs)))
            return number if r.rowcount == 1 else None

        return self._run(fn)

    def set_intermediate(self, study_id, number, values):
        def fn(c: Connection) -> None:
            r = c.execute(update(_trials).where(
                _trials.c.study_id == study_id, _trials.c.number == number,
                _trials.c.state.in_(_OPEN),
            ).values(intermediate=_dumps({str(int(k)): float(v) for k, v in values.items()})))
            if r.rowcount != 1:
                raise self._missing(c, study_id, number, "report to it")

        self._run(fn)

    def set_user_attrs(self, study_id, number, attrs):
        def fn(c: Connection) -> None:
            r = c.execute(update(_trials)
                          .where(_trials.c.study_id == study_id, _trials.c.number == number)
                          .values(user_attrs=_dumps(dict(attrs))))
            if r.rowcount != 1:
                raise TrialNotFoundError(f"study has no trial number {number}")

        self._run(fn)

    def get_trial(self, study_id, number):
        row = self._run(lambda c: c.execute(
            select(_trials).where(_trials.c.study_id == study_id, _trials.c.number == number)
        ).first())
        if row is None:
            raise TrialNotFoundError(f"study has no trial number {number}")
        return self._frozen(row)

    def get_trials(
        self, study_id: int, states: Iterable[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        q = select(_trials).where(_trials.c.study_id == study_id)
        if states is not None:
            q = q.where(_trials.c.state.in_([TrialState(s).value for s in states]))
        rows = self._run(lambda c: c.execute(q.order_by(_trials.c.number)).all())
        return [self._frozen(r) for r in rows]

    def get_numbers(self, study_id: int, states: Iterable[TrialState]) -> list[int]:
        q = select(_trials.c.number).where(
            _trials.c.study_id == study_id,
            _trials.c.state.in_([TrialState(s).value for s in states]))
        return list(self._run(lambda c: c.execute(q.order_by(_trials.c.number)).scalars().all()))

    def get_trials_by_number(self, study_id: int, numbers: Iterable[int]) -> list[FrozenTrial]:
        wanted = sorted(set(int(n) for n in numbers))
        out: list[FrozenTrial] = []
        for i in range(0, len(wanted), 500):  # stay under every backend's bound-parameter limit
            q = select(_trials).where(
                _trials.c.study_id == study_id, _trials.c.number.in_(wanted[i:i + 500]))
            rows = self._run(lambda c, q=q: c.execute(q.order_by(_trials.c.number)).all())
            out += [self._frozen(r) for r in rows]
        return out


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()

