"""Fixtures: a data root of tiny dataset files, and no network access."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The helper module sits next to this file; make it importable under any import mode.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from dataset_files import write_cifar_batches, write_idx_dataset


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root holding tiny MNIST, Fashion-MNIST and CIFAR-10 files; set as NEURAL_DATA_DIR."""
    root = tmp_path / "datasets"
    write_idx_dataset(root / "mnist")
    write_idx_dataset(root / "fashion_mnist", gz=False)
    write_cifar_batches(root / "cifar10" / "cifar-10-batches-py")
    monkeypatch.setenv("NEURAL_DATA_DIR", str(root))
    monkeypatch.setenv("NEURAL_DATA_OFFLINE", "1")
    return root


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network: http(s) URLs fail at once; file:// URLs work."""
    import urllib.error
    import urllib.request

    real = urllib.request.urlopen

    def urlopen(url, *args, **kwargs):
        if str(url).startswith("file:"):
            return real(url, *args, **kwargs)
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
