"""Schedulers: ASHA, Hyperband and median stopping stop the right trials."""

import numpy as np
import pytest

from search import ASHA, Hyperband, MedianStopping, SuccessiveHalving


def test_asha_keeps_top_third_at_each_rung():
    asha = ASHA(min_resource=1, eta=3)
    assert [asha.rung_step(k) for k in range(3)] == [1, 3, 9]
    values = np.array([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0])
    stop = asha.decide(1, values, ids=range(9))
    assert stop.tolist() == [True, False, True, False, True, False, True, True, True]
    live = [1, 3, 5]  # values 1, 3, 2
    # between rungs: nobody stops
    assert not asha.decide(2, np.array([0.5, 9.0, 9.0]), ids=live).any()
    stop = asha.decide(3, np.array([0.9, 0.8, 0.7]), ids=live)
    assert stop.tolist() == [True, True, False]  # rung 1: 3 values, keep 1


def test_asha_async_promotes_first_arrivals_and_stops_bad_values():
    sh = SuccessiveHalving(min_resource=2, eta=2)
    history = {0: {2: 1.0}}
    assert not sh.should_stop(0, 2, 1.0, history)  # alone at the rung: promoted
    history[1] = {1: 9.0, 2: 3.0}
    assert sh.should_stop(1, 2, 3.0, history)  # 2 values at rung, keep 1: not the best
    history[2] = {2: 0.5}
    assert not sh.should_stop(2, 2, 0.5, history)
    assert sh.should_stop(3, 1, float("nan"), {3: {1: float("nan")}})
    assert not sh.should_stop(4, 1, 100.0, {4: {1: 100.0}})  # before the first rung


def test_asha_max_resource_has_no_rung():
    sh = SuccessiveHalving(min_resource=1, eta=3, max_resource=9)
    assert sh.rungs_up_to(100) == [0, 1]


def test_hyperband_brackets():
    hb = Hyperband(min_resource=1, max_resource=9, eta=3)
    assert len(hb.brackets) == 3
    counts = np.bincount([hb.bracket_of(i) for i in range(33)])
    assert counts.tolist() == [27, 5, 1]
    last = 32
    assert hb.bracket_of(last) == 2
    hist = {i: {1: float(i)} for i in range(27)} | {last: {9: 1e9}}
    assert not hb.should_stop(last, 9, 1e9, hist)  # the no-stopping bracket
    assert hb.should_stop(26, 1, 26.0, hist)  # worst of its bracket
    assert not hb.should_stop(0, 1, 0.0, hist)
    assert hb.decide(1, np.array([1.0, 2.0, 3.0]), ids=[0, 1, 2]).tolist() == [False, True, True]


def test_median_stopping():
    med = MedianStopping(min_trials=3, warmup_steps=1)
    hist = {0: {0: 4.0, 1: 2.0, 2: 1.0}, 1: {0: 5.0, 1: 3.0, 2: 2.0}, 2: {0: 6.0, 1: 5.0, 2: 4.0}}
    # running means at step 2: 7/3, 10/3, 5 -> median 10/3
    assert med.should_stop(3, 2, 3.5, hist | {3: {0: 9.0, 1: 6.0, 2: 3.5}})
    assert not med.should_stop(3, 2, 3.0, hist | {3: {0: 9.0, 1: 6.0, 2: 3.0}})
    assert not med.should_stop(3, 0, 100.0, hist)  # warm-up
    assert not med.should_stop(3, 2, 100.0, {0: hist[0], 3: {2: 100.0}})  # too few others


def test_bad_arguments():
    with pytest.raises(ValueError):
        ASHA(eta=1)
    with pytest.raises(ValueError):
        Hyperband(min_resource=9, max_resource=3)
    with pytest.raises(ValueError):
        MedianStopping(interval=0).decide(0, np.array([1.0]), ids=[1, 2])
