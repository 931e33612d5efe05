"""python -m experiments.hpo --config=configs/transformer_tokens.py

A transformer encoder on a synthetic token-sequence classification task.
"""

from configs import digits_mlp


def get_config():
    c = digits_mlp.get_config()
    c.network = "examples/transformer_text.neural"
    c.dataset = "synthetic"
    c.dataset_options = {"input_shape": (128,), "num_classes": 2, "vocab_size": 20000,
                         "n_train": 2048, "n_test": 512}
    c.search.strategy = "tpe"
    c.search.n_trials = 16
    c.search.population = 4
    return c
