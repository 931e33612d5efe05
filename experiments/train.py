"""python -m experiments.train --config=configs/digits_mlp.py [--config.search.epochs=5]"""

from ml_collections import config_flags

from experiments._launch import launch
from neural_jax.experiment import run_train

_CONFIG = config_flags.DEFINE_config_file("config", None, "a configs/*.py file", lock_config=True)


def _show(out: dict) -> None:
    print(f"validation {out['val']}  test {out['test']}")


if __name__ == "__main__":
    launch(run_train, _CONFIG, _show)
