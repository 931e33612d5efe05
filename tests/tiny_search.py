"""The small searched network the engine tests run on digits (a searched activation and
learning rate; three epochs)."""

TINY_SEARCH = """
network Tiny {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(32, activation=HPO(choice("relu", "tanh")))
    Dropout(0.1)
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-3, 3e-2)))
  train { epochs: 3, batch_size: 64, validation_split: 0.2 }
}
"""


def tiny_lr_search(epochs: int | str, name: str = "Tiny") -> str:
    """A 16-unit MLP on digits whose only searched value is the learning rate (or also
    ``train.epochs`` when ``epochs`` is an ``HPO(...)`` text)."""
    return f"""
network {name} {{
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(16, activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(1e-3, 3e-2)))
  train {{ epochs: {epochs}, batch_size: 64, validation_split: 0.2 }}
}}
"""
