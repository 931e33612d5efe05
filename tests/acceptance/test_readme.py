"""The README's commands, as written, in a fresh directory.

The first block is the set-up and main job: its install part must stay the light one (no
PyTorch / TensorFlow), and its search runs here as written. The second is the test command,
which ``.ci/run`` must call. Every line of the tour block runs in order, in one directory,
as a user pastes them (later lines use what earlier ones wrote).
"""

from __future__ import annotations

import pathlib
import re
import shlex
import shutil
import tomllib

import pytest

from tests.acceptance.conftest import CONFIGS, EXAMPLES, ROOT, assert_ok, run

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def _lines(block: str) -> list[list[str]]:
    """The commands of a block as argv lists: comments (``#`` outside quotes) and blank lines
    dropped."""
    out = []
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        out.append(list(lexer))
    return out


def test_the_first_command_installs_the_light_core():
    (setup,) = _lines(BLOCKS[0])
    cut = setup.index("&&")
    install, main_job = setup[:cut], shlex.join(setup[cut + 1:])
    assert install == ["pip", "install", "-e", "."]  # no extras: no PyTorch, no TensorFlow
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in deps if re.match(r"(torch|tensorflow|wandb|ray)\b", d)]
    assert main_job.startswith("neural hpo examples/")


def test_the_main_job_runs_as_written(workdir):
    (setup,) = _lines(BLOCKS[0])
    res = assert_ok(run(setup[setup.index("&&") + 1:], workdir, timeout=300))
    assert "trials 16/16" in res.out and "best val_accuracy" in res.out
    best = float(re.search(r"best val_accuracy: ([0-9.]+)", res.out).group(1))
    assert best > 0.9  # a real search of a real MLP on the digits


def test_the_test_command_is_what_ci_runs():
    (command,) = _lines(BLOCKS[1])
    assert command == ["bash", "tests/run.sh"]
    assert "bash tests/run.sh" in (ROOT / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def tour_dir(tmp_path_factory) -> pathlib.Path:
    d = tmp_path_factory.mktemp("tour")
    shutil.copytree(EXAMPLES, d / "examples")
    shutil.copytree(CONFIGS, d / "configs")
    return d


TOUR = _lines(BLOCKS[2])


@pytest.mark.parametrize("argv", TOUR, ids=[f"{i:02d}-{a[1]}" for i, a in enumerate(TOUR)])
def test_tour(tour_dir, argv):
    res = assert_ok(run(argv, tour_dir, timeout=300))
    if "best/" in argv and argv[1] == "run":
        assert "the same" in res.out, res  # reproduced the searched score
    if "--evaluate" in argv:
        assert "test accuracy" in res.out, res
