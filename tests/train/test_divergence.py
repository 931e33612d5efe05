"""When a trial counts as diverged."""

import math

from neural_jax.train.divergence import divergence


def h(*losses):
    return [{"epoch": i + 1, "loss": v} for i, v in enumerate(losses)]


def test_sane_and_merely_bad_trials_have_not_diverged():
    assert divergence(h(2.3, 1.1, 0.4), 10) is None
    assert divergence(h(787.0, 6.1, 6.9), 10) is None  # poor (chance accuracy) but bounded
    assert divergence(h(5e3, 4e3), None) is None
    assert divergence([], 10) is None


def test_non_finite_or_huge_losses_have():
    assert divergence(h(2.3, math.nan), 10) == "diverged: the training loss became nan in epoch 2"
    assert "became inf in epoch 1" in divergence(h(math.inf), None)
    msg = divergence(h(3.5e7, 473.0), 10)  # SGD at lr 1000 on digits: softmax keeps it finite
    assert msg.startswith("diverged: the training loss reached 3.5e+07 in epoch 1")
    assert "uniform guess over 10 classes (2.3)" in msg
    assert "1e+23" in divergence(h(2.3, 1e23), 10)
    # regression: against the first epoch's own loss
    assert "first epoch's loss (0.5)" in divergence(h(0.5, 0.4, 6e5), None)
    assert divergence(h(0.5, 0.4, 4e5), None) is None
