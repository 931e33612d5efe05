"""Shared fixtures: paths to the examples and to the shared data folder."""

from __future__ import annotations

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.neural"))


@pytest.fixture(scope="session")
def examples_dir() -> pathlib.Path:
    return ROOT / "examples"
