"""``generate_code(network, backend, config)``: a standalone training script for a network.

The script imports only the chosen framework and numpy. It fixes every HPO parameter to the
configuration given (e.g. the best parameters of a search); missing values take the value a
single run uses (:func:`neural_jax.ir.defaults.default_config`: the first option of a choice,
the middle of a range), exactly as ``neural_jax.train.Trainer`` resolves them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from bridges.errors import BACKENDS, normalize_backend
from neural_jax.core.errors import NeuralWarning
from neural_jax.ir.nodes import Network

__all__ = ["BACKENDS", "generate_code", "normalize_backend", "script_dataset"]

def _network(network: Any) -> Network:
    if isinstance(network, Network):
        return network
    if isinstance(network, (str, bytes)):
        from neural_jax.dsl.api import parse

        return parse(network)
    raise TypeError(f"generate_code takes a Network (neural_jax.parse(text)) or DSL text, "
                    f"not {type(network).__name__}")


def _paths(net: Network) -> set[str]:
    from neural_jax.ir.space import search_space

    return {p.name for p in search_space(net)}


def _bind_config(net: Network, config: Mapping[str, Any]) -> tuple[Network, dict[str, Any]]:
    """``net`` and ``config`` with the keys that name no HPO expression bound in.

    Such a key may still name something a search can set: a path such as
    ``optimizer.beta_1`` or ``layers[2].rate``, or an alias such as ``dropout_rate`` or
    ``learning_rate`` (SPEC §4; a search with a ``search_space=`` dict reports those). Each
    is written into the network as an HPO node, as the HPO engine does, so that the
    configuration sets it; a key that binds to nothing is left out with a warning.

    Raises:
      NeuralValidationError: a value outside the domain of what its key sets.
    """
    from neural_jax.ir.lift import lift
    from neural_jax.ir.space import bind_search_space

    paths = _paths(net)
    out = {k: v for k, v in config.items() if k in paths}
    bound, unknown = [], []
    for key, value in config.items():
        if key in paths:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NeuralWarning)
            params = [p for p in bind_search_space(
                net, {key: {"type": "categorical", "values": [value]}}) if p.origin == "dict"]
        if not params:
            unknown.append(key)
            continue
        bound += params
        out[params[0].name] = value
    if unknown:
        known = ", ".join(sorted(paths)) or "none"
        warnings.warn(f"generate_code: {', '.join(unknown)} name nothing in network "
                      f"'{net.name}' and are ignored (its HPO parameters: {known})",
                      NeuralWarning, stacklevel=3)
    return (lift(net, tuple(bound)) if bound else net), out


def script_dataset(dataset: str) -> str:
    """The key under which a generated script reads ``dataset`` (any spelling of a built-in
    name); NeuralValidationError for one a script cannot read."""
    from bridges.codegen.datasets import DATASETS

    key = str(dataset).strip().lower().replace("-", "_")
    if key not in DATASETS:
        from neural_jax.core.errors import NeuralValidationError

        raise NeuralValidationError(
            f"a generated script cannot read dataset {dataset!r}",
            hint=f"built-in datasets: {', '.join(sorted(DATASETS))}; or none (random data "
                 "in load_data(), to replace with your own)")
    return key


def generate_code(network: Network | str, backend: str = "tensorflow",
                  config: Mapping[str, Any] | None = None, dataset: str | None = None) -> str:
    """Writes a readable, standalone training script for ``network``.

    The script has a header naming the network, backend and configuration; the DSL's
    settings as constants; a ``load_data()`` hook that makes small random data of the
    network's input shape (replace it with real data); the model written layer by layer; the
    DSL's loss, optimizer (with its schedule), epochs, batch size, validation and early
    stopping; and ``main(epochs=None, n_train=None, batch_size=None) -> list[float]``, which
    returns the training loss of each epoch, with a command line
    (``python script.py --epochs 3``). Each epoch prints one line such as
    ``epoch 1 loss 2.3012 val_loss 2.2000 val_accuracy 0.1200``.

    Args:
      network: an IR network (``neural_jax.parse(text)``) or DSL text (its first network).
      backend: ``"tensorflow"`` (aliases ``"tf"``, ``"keras"``), ``"pytorch"``
        (``"torch"``) or ``"jax"`` (``"flax"``).
      config: ``{hpo_path: value}`` fixing HPO parameters (e.g. a search's best
        parameters); missing ones take the single-run defaults.
      dataset: a built-in dataset (``digits``, ``mnist``, ``mnist_t10k``, ``fashion_mnist``,
        ``fashion_mnist_t10k``, ``cifar10``): ``load_data()`` reads it, split as
        ``neural run`` splits it (:mod:`bridges.codegen.datasets`); None: random data.

    Returns:
      The script's source text.

    Raises:
      NeuralSyntaxError, NeuralValidationError: the DSL text is wrong, or the configuration
        gives a layer an input it cannot take.
      BackendError: an unknown backend, or a layer the backend cannot express exactly (the
        message names the layer, its path and the backend).
    """
    name = normalize_backend(backend)
    net = _network(network)
    config = dict(config or {})
    net, config = _bind_config(net, config)

    from bridges.codegen.context import build_context

    ctx = build_context(net, name, config)
    if dataset is not None:
        ctx.dataset = script_dataset(dataset)
    if name == "tensorflow":
        from bridges.codegen.train_keras import script
    elif name == "pytorch":
        from bridges.codegen.train_torch import script
    else:
        from bridges.codegen.train_flax import script
    return script(ctx)
