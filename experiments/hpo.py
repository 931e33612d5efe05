"""python -m experiments.hpo --config=configs/digits_mlp.py [--config.search.n_trials=8]"""

from ml_collections import config_flags

from experiments._launch import launch
from neural_jax.experiment import run_hpo

_CONFIG = config_flags.DEFINE_config_file("config", None, "a configs/*.py file", lock_config=True)


def _show(out: dict) -> None:
    print(f"best value {out['best_value']}: {out['best_params']}")


if __name__ == "__main__":
    launch(run_hpo, _CONFIG, _show)
