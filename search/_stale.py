"""Finding the trials left RUNNING by workers that died."""

from __future__ import annotations

import os
from collections.abc import Iterable

from search.storage import worker_id
from search.trial import FrozenTrial

__all__ = ["stale_trials"]


def stale_trials(running: Iterable[FrozenTrial], all_hosts: bool = False
                 ) -> list[tuple[FrozenTrial, str]]:
    """The running trials whose worker is dead, with that worker's id.

    Args:
      running: the study's RUNNING trials.
      all_hosts: also count trials of other hosts and of live processes other than this
        one as stale.

    Returns:
      ``[(trial, worker id)]`` in the given order, this process's own trials left out.
    """
    me = worker_id()
    my_host = me.rpartition(":")[0]
    out = []
    for t in running:
        worker = str(t.system_attrs.get("worker", ""))
        if worker == me:
            continue
        host, _, pid = worker.rpartition(":")
        dead_here = host == my_host and pid.isdigit() and not _pid_alive(int(pid))
        if all_hosts or dead_here:
            out.append((t, worker))
    return out


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:  # a zombie has exited even if not yet reaped
            if f.read().rsplit(")", 1)[-1].split()[0] == "Z":
                return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
