"""Legal sample calls of every registered layer, shared by the checker and backend tests."""

from __future__ import annotations

from neural_jax import NeuralValidationError, parse
from neural_jax.ir import LAYERS, infer_shapes

#: input shapes tried, by rank (batch excluded)
SAMPLE_INPUTS = {1: "(16,)", 2: "(16, 8)", 3: "(16, 16, 8)", 4: "(8, 8, 8, 4)"}
#: a legal value for each required argument (and GroupNormalization's groups)
REQUIRED = {"units": "4", "rate": "0.1", "filters": "4", "kernel_size": "3",
            "target_shape": "(-1,)", "function": "'relu'", "input_dim": "10",
            "output_dim": "4", "num_heads": "2", "key_dim": "4", "ff_dim": "8",
            "max_len": "64", "stddev": "0.1", "groups": "4"}


def sample_call(name: str, **extra: str) -> str:
    """``Name(required args)`` (with a block where one is required) for layer ``name``;
    ``extra`` adds or replaces arguments (DSL text by name)."""
    spec = LAYERS[name]
    req = dict(REQUIRED, layer="LSTM(4)" if name == "Bidirectional" else "Dense(3)", **extra)
    args = ", ".join(f"{p.name}={req[p.name]}" for p in spec.params
                     if p.required or p.name == "groups" or p.name in extra)
    block = " { Dense(8) }" if spec.block == "required" else ""
    return f"{name}({args}){block}"


def sample_inputs(name: str) -> list[str]:
    """The input shapes worth trying for layer ``name``."""
    return [inp for rank, inp in SAMPLE_INPUTS.items() if name != "Embedding" or rank == 1]


def legal_input(text: str, inputs: list[str]) -> str | None:
    """The first of ``inputs`` the checker accepts for the one-layer network ``text``."""
    for inp in inputs:
        try:
            infer_shapes(parse(f"network T {{ input: {inp} layers: {text} }}"))
        except NeuralValidationError:
            continue
        return inp
    return None
