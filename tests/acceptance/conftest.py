"""The acceptance suite: the product run the way users run it.

Every test here starts real processes (the ``neural`` command, ``python -m experiments...``,
``python script.py``) in a fresh temporary directory and asserts on what a user sees: the
exit status, the output, and the files written. ``run`` is the one way to start them.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Sequence

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CONFIGS = ROOT / "configs"
SHARED = ROOT.parent / "shared"


def _neural_command() -> list[str]:
    """The installed ``neural`` console script beside this interpreter (what users type)."""
    script = pathlib.Path(sys.executable).with_name("neural")
    if script.exists():
        return [str(script)]
    found = shutil.which("neural")
    return [found] if found else [sys.executable, "-m", "neural_jax.cli"]


NEURAL = _neural_command()


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: W&B offline, the test run's compilation cache, and
    the project root importable (``python -m experiments.hpo`` from any directory)."""
    env = dict(os.environ)
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(extra)
    return env


class Result:
    """What a finished process left: ``rc``, ``out``, ``err``, ``text`` (both) and ``cwd``."""

    def __init__(self, proc: subprocess.CompletedProcess, cwd: pathlib.Path) -> None:
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.text = proc.stdout + proc.stderr
        self.cwd = cwd
        self.args = proc.args

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return (f"<{' '.join(map(str, self.args))} -> rc {self.rc}>\n--- stdout ---\n"
                f"{self.out[-4000:]}\n--- stderr ---\n{self.err[-4000:]}")


def run(args: Sequence[str], cwd: pathlib.Path, *, timeout: float = 300,
        env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    """Runs ``args`` in ``cwd``; ``args[0] == "neural"`` means the installed command.

    A process that outlives ``timeout`` fails the test (a hang is a bug, not a slow test).
    """
    argv = [*NEURAL, *args[1:]] if args and args[0] == "neural" else list(args)
    if argv and argv[0] == "python":
        argv[0] = sys.executable
    proc = subprocess.run(argv, cwd=cwd, env=env or user_env(), capture_output=True, text=True,
                          timeout=timeout, input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    return Result(proc, pathlib.Path(cwd))


def assert_ok(res: Result) -> Result:
    assert res.rc == 0, res
    assert "Traceback" not in res.text, res
    return res


def assert_user_error(res: Result, *words: str, rc: int | None = None) -> Result:
    """A bad input: non-zero exit (``rc`` when given), no traceback, and a message that
    contains every one of ``words`` (case-insensitive)."""
    assert res.rc != 0, res
    if rc is not None:
        assert res.rc == rc, res
    assert "Traceback" not in res.text, res
    low = res.text.lower()
    for w in words:
        assert w.lower() in low, (w, res)
    return res


@pytest.fixture
def workdir(tmp_path: pathlib.Path) -> pathlib.Path:
    """A fresh directory holding a copy of the examples (as a user's checkout has them)."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    return tmp_path
