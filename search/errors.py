"""Typed errors a user of :mod:`search` can cause.

Every error says what went wrong and what to do; all derive from :class:`SearchError` and
from the matching built-in exception, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "SearchError",
    "SearchSpaceError",
    "StorageError",
    "DuplicateStudyError",
    "StudyNotFoundError",
    "TrialNotFoundError",
    "TrialFinishedError",
    "UnknownStrategyError",
    "StrategyUnavailableError",
    "SearchExhausted",
]


class SearchError(Exception):
    """Base class of every error raised by :mod:`search`."""


class SearchSpaceError(SearchError, ValueError):
    """A malformed search space or a parameter value outside its space."""


class StorageError(SearchError, RuntimeError):
    """A storage URL that cannot be opened, a corrupt file or a persistent lock."""


class DuplicateStudyError(SearchError, ValueError):
    """A study with this name already exists (pass ``load_if_exists=True`` to resume it)."""


class StudyNotFoundError(SearchError, LookupError):
    """No study of this name in the storage."""


class TrialNotFoundError(SearchError, LookupError):
    """``tell`` or ``report`` for a trial number the study never issued."""


class TrialFinishedError(SearchError, RuntimeError):
    """``tell`` or ``report`` for a trial that is already complete, pruned or failed."""


class UnknownStrategyError(SearchError, ValueError):
    """A strategy name that is not in the registry."""


class StrategyUnavailableError(SearchError, ImportError):
    """A registered strategy whose module (or one of its dependencies) cannot be imported."""


class SearchExhausted(SearchError):
    """A finite strategy (e.g. a grid) has no new points left to propose."""
