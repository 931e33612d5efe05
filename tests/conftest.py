"""Shared fixtures: paths to the examples and to the shared data folder; the compilation
cache of the run (a temporary directory, not the user's)."""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.neural"))


@pytest.fixture(scope="session")
def examples_dir() -> pathlib.Path:
    return ROOT / "examples"


_RUN_CACHE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Searches in the tests (and the commands they start) keep their compiled programs in a
    directory of this run, unless ``NEURAL_JAX_COMPILATION_CACHE`` says otherwise, so a test
    run neither fills nor depends on the user's cache."""
    if "NEURAL_JAX_COMPILATION_CACHE" not in os.environ:
        _RUN_CACHE.append(tempfile.mkdtemp(prefix="neural_jax_tests_"))
        os.environ["NEURAL_JAX_COMPILATION_CACHE"] = _RUN_CACHE[0]


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in _RUN_CACHE:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop("NEURAL_JAX_COMPILATION_CACHE", None)
