"""What the absl launchers share: run one library function on the ``--config`` file, showing
a user's mistakes as the ``neural`` command does (one line, no traceback)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from neural_jax.user_errors import install_warning_format, user_message

__all__ = ["launch"]


def launch(fn: Callable[[Any], Any], cfg: Any) -> Any:
    """Calls ``fn(cfg)``; a user error prints its message and exits with its status."""
    import logging

    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    install_warning_format()
    try:
        return fn(cfg)
    except BaseException as e:  # noqa: BLE001 - user errors are shown without a traceback
        shown = user_message(e)
        if shown is None or isinstance(e, SystemExit):
            raise
        print(shown[0], file=sys.stderr)
        sys.exit(shown[1])
