"""What the absl launchers share: read ``--config``, run one library function on it, and show
a user's mistakes as the ``neural`` command does (one line, no traceback).

A launcher is::

    _CONFIG = config_flags.DEFINE_config_file("config", None, "a configs/*.py file")
    if __name__ == "__main__":
        launch(run_hpo, _CONFIG, show=lambda out: print(...))
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

from neural_jax.user_errors import install_warning_format, user_message

__all__ = ["launch"]


def _flag_message(e: BaseException) -> str:
    """absl / ml_collections flag errors as one line: their message, without repr quoting."""
    text = str(e.args[0]) if e.args else str(e)
    if isinstance(e, (KeyError, AttributeError)):
        text = text.strip("'\"").replace("\\'", "'").replace("\\n", " ")
    text = re.sub(r"\s+", " ", text).strip()
    return f"error: bad flag: {text}"


def _parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, with a malformed ``--config.a.b=v`` or an unreadable config file
    shown as one line (exit 2, as for other bad arguments) instead of a traceback."""
    from absl import flags

    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        print(f"error: {e}", file=sys.stderr)
    except (AttributeError, KeyError, TypeError, ValueError, OSError) as e:
        print(_flag_message(e), file=sys.stderr)
    print("  (--helpshort lists the flags)", file=sys.stderr)
    sys.exit(2)


def _config(holder: Any) -> Any:
    try:
        cfg = holder.value
        cfg.keys()  # a config file that failed to load raises on its first use
        return cfg
    except OSError as e:  # the config file cannot be loaded: say which and why, on one line
        cause = e.__cause__ or e
        detail = re.sub(r"\s+", " ", str(cause)).strip()
        print(f"error: cannot load the --config file: {detail}", file=sys.stderr)
        sys.exit(2)


def launch(fn: Callable[[Any], Any], holder: Any, show: Callable[[Any], None]) -> None:
    """Runs ``show(fn(config))`` as an absl program; a user error prints its message and
    exits with its status (1; 2 for bad flags; 130 for Ctrl-C, also when the library
    caught it and returned what it had: ``{"interrupted": True, ...}``)."""
    import logging

    from absl import app

    def main(argv: list[str]) -> None:
        del argv
        logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
        install_warning_format()
        cfg = _config(holder)
        try:
            out = fn(cfg)
        except Exception as e:  # noqa: BLE001 - user errors are shown without a traceback
            shown = user_message(e)
            if shown is None:
                raise
            print(shown[0], file=sys.stderr)
            sys.exit(shown[1])
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
        show(out)
        if isinstance(out, dict) and out.get("interrupted"):
            sys.exit(130)  # Ctrl-C: the search kept its finished trials (it said so)

    app.run(main, flags_parser=_parse_flags)
