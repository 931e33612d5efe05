"""python -m experiments.hpo --config=configs/digits_mlp.py --config.search.strategy=gp

The quick-start search: an MLP on scikit-learn's bundled 8x8 digits.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.network = "examples/digits_mlp.neural"   # the DSL file (relative to the repository)
    c.dataset = "digits"                       # a name of neural_jax.data's registry
    c.data_dir = ""                            # for file datasets ($NEURAL_DATA_DIR if empty)
    c.dataset_options = ml_collections.ConfigDict()
    c.space = ml_collections.ConfigDict()      # extra search_space entries (seed dict form)
    # strategy / scheduler: names of neural_jax.methods (e.g. "gp", "de", "hyperband"; "" for
    # the network's search_method); population, epochs, timeout: 0 for the default;
    # direction: "" infers it from the metric (minimize for losses)
    c.search = ml_collections.ConfigDict(dict(
        strategy="tpe", scheduler="", n_trials=16, population=8, early_stopping=False,
        timeout=0.0, epochs=0, seed=0, metric="val_accuracy", direction=""))
    c.storage = ""                             # e.g. sqlite:///hpo.db
    c.study = ""                               # a name resumes that study
    c.output_dir = ""
    c.params = ml_collections.ConfigDict()     # HPO values for experiments.train
    # W&B: one run per trial grouped by study; mode "offline" writes ./wandb without a server
    c.logging = ml_collections.ConfigDict(dict(wandb=False, project="neural_jax", entity="",
                                               mode="", tags=(), dir=""))
    return c
