"""What ``neural run`` (and the best trial's rerun, and a PyTorch / TensorFlow run) prints:
one line per epoch, the scores, and the exit status of a failed or diverged run; the
``--data-dir`` option a dataset takes.

Every command module reads these from here, so none of them imports :mod:`neural_jax.cli`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["data_options", "diverged", "epoch_printer", "failed_status", "plural",
           "print_scores", "report_divergence"]


def epoch_printer(epochs: int) -> Callable[[int, dict], None]:
    """An ``on_epoch`` callback printing one line per epoch: ``epoch  2/10  loss 0.31 ...``."""

    def show(epoch: int, rec: dict) -> None:
        parts = [f"{k} {v:.4f}" for k, v in rec.items() if k not in ("epoch", "seconds")]
        print(f"epoch {epoch:>3}/{epochs}  " + "  ".join(parts) +
              f"  ({rec.get('seconds', 0):.1f}s)", flush=True)

    return show


def plural(n: int, word: str) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def data_options(dataset: str, data_dir: str | None) -> dict:
    """The ``data_dir`` option of ``--data-dir`` for a dataset that reads files, else none:
    a built-in dataset that reads no files (``digits``, ``synthetic``) ignores it, as it
    ignores ``$NEURAL_DATA_DIR``."""
    if not data_dir:
        return {}
    import inspect

    from neural_jax.data._registry import DATASETS, _key

    loader = DATASETS.get(_key(dataset)) if isinstance(dataset, str) else None
    if loader is not None and "data_dir" not in inspect.signature(loader).parameters:
        return {}
    return {"data_dir": data_dir}


def diverged(result, ds) -> str | None:
    """Why a training run diverged (:mod:`neural_jax.train.divergence`, the rule ``neural
    hpo`` fails trials by), or None."""
    from neural_jax.train.divergence import divergence

    return divergence(result.history or [], getattr(ds, "num_classes", None))


def print_scores(result) -> None:
    """The ``validation:`` and ``test:`` lines of a finished run."""
    print("validation: " + "  ".join(f"{k} {v:.4f}" for k, v in result.val.items()))
    print("test:       " + "  ".join(f"{k} {v:.4f}" for k, v in result.test.items()))


def failed_status(result, reason: str | None) -> int | None:
    """For a run that failed, its error line and exit status 1; None for one that finished."""
    if not result.failed:
        return None
    if reason is None:
        print(f"error: training failed: {result.message}", file=sys.stderr)
        return 1
    return report_divergence(reason, None)


def report_divergence(reason: str | None, saved: str | None) -> int:
    """The exit status of a finished run: 0, or 1 with an error line when it diverged."""
    if reason is None:
        return 0
    kept = f"; the run is saved in {saved}" if saved else ""
    print(f"error: training {reason}{kept}; lower the learning rate", file=sys.stderr)
    return 1
