"""The seed README's code blocks, through the `neural` compatibility package.

The blocks run as written except for a small n_trials, the bundled `digits` dataset and the
network's input shape (digits are 8x8). The basic block runs with the seed's
`backend="tensorflow"` (trials trained in Keras through the bridge) and with `"jax"`; the
advanced block uses `"jax"`, whose populations do the in-population early stopping it asks for.
The blocks as plain scripts (`python block.py`, PyTorch and TensorFlow workers, MNIST) are
`tests/acceptance/test_seed_scripts.py`.
"""

from __future__ import annotations

import pytest

SEED_CODE = """
network MNIST {
  input: (8, 8, 1)
  layers:
    Conv2D(32, kernel_size=3, activation="relu")
    MaxPooling2D(pool_size=2)
    Flatten()
    Dense(128, activation="relu")
    Output(10, activation="softmax")

  optimizer: Adam(learning_rate=0.001)
  batch_size: 64
}
"""

search_space = {
    "learning_rate": {"type": "float", "min": 0.0001, "max": 0.01, "log": True},
    "batch_size": {"type": "categorical", "values": [32, 64, 128, 256]},
    "dropout_rate": {"type": "float", "min": 0.1, "max": 0.5},
}


@pytest.fixture(scope="module")
def advanced(tmp_path_factory):
    from neural.hpo.hpo import HPOptimizer
    from neural.hpo.strategies import BayesianStrategy

    db = tmp_path_factory.mktemp("db") / "hpo_results.db"
    optimizer = HPOptimizer(
        strategy=BayesianStrategy(),
        n_trials=8,
        timeout=3600,  # 1 hour timeout
        early_stopping=True,
        parallel_trials=4,
        storage=f"sqlite:///{db}",
        epochs=2,
    )
    with pytest.warns(UserWarning, match="dropout_rate"):
        best_params = optimizer.optimize(
            SEED_CODE,
            dataset_name="digits",
            backend="jax",
            search_space=search_space,
            metric="val_accuracy",
            direction="maximize",
        )
    return optimizer, best_params


def test_basic_block():
    from neural.hpo.hpo import optimize_and_return

    with pytest.warns(UserWarning, match="dropout_rate"):
        best_params = optimize_and_return(SEED_CODE, n_trials=2, dataset_name="digits",
                                          backend="jax", search_space=search_space,
                                          epochs=1, population=2)
    assert set(best_params) == {"optimizer.learning_rate", "train.batch_size"}


def test_basic_block_with_the_seed_tensorflow_backend():
    pytest.importorskip("tensorflow")
    from neural.hpo.hpo import optimize_and_return

    with pytest.warns(UserWarning, match="dropout_rate"):
        best_params = optimize_and_return(SEED_CODE, n_trials=2, dataset_name="digits",
                                          backend="tensorflow", search_space=search_space,
                                          epochs=1, population=2)
    assert set(best_params) == {"optimizer.learning_rate", "train.batch_size"}


def test_advanced_block(advanced):
    optimizer, best_params = advanced
    assert set(best_params) == {"optimizer.learning_rate", "train.batch_size"}
    assert len(optimizer.trials) == 8 and optimizer.best_value > 0.3
    states = [t["state"] for t in optimizer.trials]
    assert "pruned" in states and states.count("complete") >= 3


def test_optimized_dsl_and_parser_block(advanced):
    from neural.code_generation.code_generator import generate_optimized_dsl
    from neural.parser.parser import ModelTransformer, create_parser

    _, best_params = advanced
    optimized_dsl = generate_optimized_dsl(SEED_CODE, best_params)
    parser = create_parser()
    tree = parser.parse(optimized_dsl)
    model_data = ModelTransformer().transform(tree)
    assert model_data.train.batch_size == best_params["train.batch_size"]
    assert model_data.optimizer.get("learning_rate") == pytest.approx(
        best_params["optimizer.learning_rate"])


def test_visualization_block(advanced, tmp_path):
    from neural.hpo.visualization import plot_optimization_history, plot_param_importance

    optimizer, _ = advanced
    fig = plot_optimization_history(optimizer.trials, metric="val_accuracy",
                                    path=str(tmp_path / "h.png"))
    assert fig.axes[0].get_ylabel() == "val_accuracy" and (tmp_path / "h.png").stat().st_size > 1000
    fig2 = plot_param_importance(optimizer.trials, path=str(tmp_path / "i.png"))
    labels = {t.get_text() for t in fig2.axes[0].get_yticklabels()}
    assert labels == {"optimizer.learning_rate", "train.batch_size"}
