#!/usr/bin/env bash
# Sets up what the tests need, then runs them: the CPU build of PyTorch (the wheel
# `torch==2.13.0`; a bare `torch` would pull a multi-GB CUDA build), TensorFlow and the
# other test extras, the project itself (editable). Extra arguments go to pytest,
# e.g. `bash tests/run.sh -m slow` or `bash tests/run.sh tests/acceptance`.
set -euo pipefail
cd "$(dirname "$0")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install -q "torch==2.13.0" \
  || echo "torch==2.13.0 is not available here: the PyTorch tests will skip" >&2
python -m pip install -q -e ".[dev]"
exec python -m pytest -q "$@"
