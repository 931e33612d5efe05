"""python -m experiments.hpo --config=configs/digits_mlp.py [--config.search.n_trials=8]"""

from absl import app
from ml_collections import config_flags

from experiments._launch import launch
from neural_jax.experiment import run_hpo

_CONFIG = config_flags.DEFINE_config_file("config", None, "a configs/*.py file", lock_config=True)


def main(argv):
    del argv
    out = launch(run_hpo, _CONFIG.value)
    print(f"best value {out['best_value']}: {out['best_params']}")


if __name__ == "__main__":
    app.run(main)
