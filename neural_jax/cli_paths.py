"""Output paths of the ``neural`` command, checked before any work.

Every command that writes (``run --out``, ``hpo -o``, ``compile -o``, ``export -o``) checks
its output when the command line is read, so that a path it cannot write is a one-line
``cannot write`` error before a model trains, not after. The rules are the same for every
command:

* a file output that is an existing folder, or a folder output that is an existing file, is
  an error;
* an output that is one of the command's input files (``-o`` naming the ``.neural`` file
  being searched) is an error: it would replace the source;
* missing parent folders are created when the command writes, and the command says so;
  a parent that is a file, or a folder that cannot be written, is an error.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable

from neural_jax.core.errors import NeuralError

__all__ = ["OutputPathError", "check_output_dir", "check_output_file", "make_parents"]


class OutputPathError(NeuralError):
    """An output path the command cannot (or must not) write."""

    kind = "error"


def _same_file(a: pathlib.Path, b: pathlib.Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _check_ancestors(path: pathlib.Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise OutputPathError(f"cannot write {flag} {path}: {parent} is a file, not a folder")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {flag} {path}: the folder {parent} is not writable")


def check_output_file(path: str | os.PathLike, flag: str,
                      inputs: Iterable[str | os.PathLike] = (),
                      example: str = "model.py") -> pathlib.Path:
    """Checks a file the command will write; returns it as a path.

    Args:
      path: the output file.
      flag: the option that named it (``-o``), for the message.
      inputs: files the command reads; writing one of them is refused.
      example: a file name for the hint when ``path`` is a folder.

    Raises:
      OutputPathError: the path is a folder, ends in a separator, is an input, or lies
        under a file or an unwritable folder.
    """
    text = os.fspath(path)
    out = pathlib.Path(text)
    if text.endswith(("/", os.sep)) or out.is_dir():
        what = "is a folder" if out.is_dir() else "ends in '/' (a folder)"
        raise OutputPathError(f"cannot write {flag} {text}: it {what}; give the path of a file",
                              hint=f"e.g. {flag} {out / example}" if out.is_dir() else "")
    for source in inputs:
        if _same_file(out, pathlib.Path(source)):
            raise OutputPathError(
                f"cannot write {flag} {text}: it is the input file {source}, which would be "
                "replaced", hint="give another path")
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputPathError(f"cannot write {flag} {text}: the file is not writable")
    _check_ancestors(out, flag)
    return out


def check_output_dir(path: str | os.PathLike, flag: str,
                     inputs: Iterable[str | os.PathLike] = ()) -> pathlib.Path:
    """Checks a folder the command will write files into; returns it as a path.

    Raises:
      OutputPathError: the path is an existing file (an input file or any other), or lies
        under a file or an unwritable folder.
    """
    text = os.fspath(path)
    out = pathlib.Path(text)
    for source in inputs:
        if _same_file(out, pathlib.Path(source)):
            raise OutputPathError(
                f"cannot write {flag} {text}: it is the input file {source}, which would be "
                "replaced", hint="give a folder for the output")
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"cannot write {flag} {text}: it is a file, and {flag} is a folder "
                              "to write files into", hint="give a new or existing folder")
    if out.is_dir() and not os.access(out, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {flag} {text}: the folder is not writable")
    _check_ancestors(out, flag)
    return out


def make_parents(path: pathlib.Path) -> None:
    """Creates the missing parent folders of the file ``path``, saying so."""
    target = path.parent
    if str(target) in ("", ".") or target.exists():
        return
    target.mkdir(parents=True, exist_ok=True)
    print(f"created the folder {target}", flush=True)
