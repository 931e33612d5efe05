"""What a wheel of the project ships, and the Python floor it declares."""

from __future__ import annotations

import re
import sys
import tomllib
import zipfile

from tests.acceptance.conftest import EXAMPLES, ROOT, run


def test_the_wheel_ships_the_grammar_and_every_example(tmp_path):
    res = run(["python", "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
               "-w", str(tmp_path), str(ROOT)], tmp_path, timeout=300)
    assert res.rc == 0, res
    (wheel,) = tmp_path.glob("neural_jax-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("neural_jax/examples/")}
    assert shipped == {p.name for p in EXAMPLES.glob("*.neural")} and len(shipped) == 14
    assert "neural_jax/dsl/grammar.lark" in names


def test_the_declared_python_floor_is_one_we_run_on():
    floor = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    major, minor = map(int, re.fullmatch(r">=(\d+)\.(\d+)", floor).groups())
    assert (major, minor) == (3, 11)  # typing.Self and the JAX releases we need
    assert sys.version_info[:2] >= (major, minor)
