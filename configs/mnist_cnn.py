"""python -m experiments.hpo --config=configs/mnist_cnn.py --config.data_dir=/path/to/mnist

The seed's MNIST CNN with the seed's search space; MNIST files from data_dir.
"""

from configs import digits_mlp


def get_config():
    c = digits_mlp.get_config()
    c.network = "examples/mnist_cnn.neural"
    c.dataset = "mnist"
    c.space = {"learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "log": True},
               "batch_size": {"type": "categorical", "values": [32, 64, 128, 256]}}
    c.search.strategy = "gp"
    c.search.n_trials = 32
    c.search.early_stopping = True
    return c
