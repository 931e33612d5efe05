"""python -m experiments.hpo --config=configs/cifar10_resnet.py --config.data_dir=/path/to/cifar10

A small residual network on CIFAR-10 (python pickle batches or .npz in data_dir).
"""

from configs import digits_mlp


def get_config():
    c = digits_mlp.get_config()
    c.network = "examples/resnet_blocks.neural"
    c.dataset = "cifar10"
    c.search.strategy = "tpe"
    c.search.n_trials = 64
    c.search.population = 16
    c.search.early_stopping = True
    return c
