"""Search space: distributions, encoding, the seed's dict format and its errors."""

import math

import numpy as np
import pytest

from search import Categorical, Float, Int, SearchSpaceError, Space

SEED_DICT = {
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "log": True},
    "batch_size": {"type": "categorical", "values": [32, 64, 128, 256]},
    "units": {"type": "int", "min": 32, "max": 512, "step": 32},
    "optimizer": {"type": "categorical", "values": ["Adam", "SGD"]},
    "momentum": {"type": "float", "min": 0.8, "max": 0.99, "condition": {"optimizer": "SGD"}},
}


def test_dims_follow_the_encoding():
    dims = Space.from_dict(SEED_DICT).dims
    assert [d.name for d in dims] == list(SEED_DICT)
    assert [d.levels for d in dims] == [None, 4, 16, 2, None]
    assert dims[0].log and dims[4].conditional and not dims[0].conditional
    assert dims[2].kind == "int" and dims[1].kind == "categorical"


def test_dict_round_trip():
    space = Space.from_dict(SEED_DICT)
    again = Space.from_dict(space.to_dict())
    assert again == space
    assert again.to_dict() == space.to_dict()
    assert space.to_dict()["momentum"]["condition"] == {"optimizer": "SGD"}


def test_encode_decode_round_trip_and_conditions():
    space = Space.from_dict(SEED_DICT)
    samples = space.sample(np.random.default_rng(0), 200)
    seen_opt = {p["optimizer"] for p in samples}
    assert seen_opt == {"Adam", "SGD"}
    for p in samples:
        assert ("momentum" in p) == (p["optimizer"] == "SGD")
        u = space.encode(p)
        assert u.shape == (5,) and ((u >= 0) & (u <= 1)).all()
        back = space.decode(u)
        assert back.keys() == p.keys()
        assert math.isclose(back["learning_rate"], p["learning_rate"], rel_tol=1e-9)
        assert {k: v for k, v in back.items() if k not in ("learning_rate", "momentum")} == {
            k: v for k, v in p.items() if k not in ("learning_rate", "momentum")
        }
        assert 1e-4 <= p["learning_rate"] <= 1e-2 and p["units"] % 32 == 0


def test_level_centres_and_log_scale():
    f = Float(1e-4, 1e-2, log=True)
    assert math.isclose(f.decode(0.5), 1e-3, rel_tol=1e-9)
    i = Int(32, 512, step=32)
    assert i.levels == 16 and i.encode(32) == 0.5 / 16 and i.decode(0.999) == 512
    c = Categorical([True, 1, "1"])
    assert [c.decode(c.encode(v)) for v in (True, 1, "1")] == [True, 1, "1"]
    assert type(c.decode(c.encode(1))) is int
    sf = Float(0.0, 1.0, step=0.1)
    assert sf.levels == 11 and sf.decode(0.3 * 11 / 11 + 0.01) == 0.3
    li = Int(1, 1000, log=True)
    assert li.levels is None
    assert all(li.decode(li.encode(v)) == v for v in (1, 2, 3, 10, 999, 1000))
    vals = [li.decode(u) for u in np.linspace(0, 1, 1001)]
    assert np.median(vals) < 60  # log-uniform: the median sits near sqrt(1000)


def test_tuple_values_survive_json():
    space = Space({"k": Categorical([(3, 3), (5, 5)])})
    again = Space.from_dict(space.to_dict())
    assert again.decode([0.9]) == {"k": (5, 5)}
    assert space.canonical({"k": [3, 3]}) == {"k": (3, 3)}


@pytest.mark.parametrize(
    "entry, words",
    [
        ({"type": "float", "min": 1.0, "max": 1.0}, "min (1.0) must be < max"),
        ({"type": "int", "min": 5, "max": 2}, "must be < max"),
        ({"type": "float", "min": 0.0, "max": 1.0, "log": True}, "log scale needs min > 0"),
        ({"type": "int", "min": -3, "max": 10, "log": True}, "log scale needs min > 0"),
        ({"type": "floot", "min": 0, "max": 1}, "unknown type 'floot'"),
        ({"type": "categorical", "values": []}, "values is empty"),
        ({"type": "int", "min": 0, "max": 10, "step": 0}, "step must be > 0"),
        ({"type": "float", "min": 0, "max": 1, "step": -0.1}, "step must be > 0"),
        ({"type": "int", "min": 0, "max": 10, "step": 11}, "larger than the range"),
        ({"type": "float", "min": 0, "max": 1, "step": 2.0}, "larger than the range"),
        ({"type": "float", "min": 0, "max": 1, "mx": 2}, "unknown field 'mx'"),
        ({"type": "float", "min": 0}, "needs 'min' and 'max'"),
        ({"type": "int", "min": 0.5, "max": 3}, "min must be an integer"),
        ("float", "expected a dict"),
    ],
)
def test_bad_dict_entries_name_the_key(entry, words):
    with pytest.raises(SearchSpaceError) as info:
        Space.from_dict({"lr": entry})
    assert "'lr'" in str(info.value) and words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_condition_on_unknown_parameter():
    with pytest.raises(SearchSpaceError,
                       match=r"'momentum'.*unknown parameter 'optimiser'"
                             r".*did you mean 'optimizer'"):
        Space.from_dict(SEED_DICT | {"momentum": {"type": "float", "min": 0.8, "max": 0.99,
                                                   "condition": {"optimiser": "SGD"}}})
    with pytest.raises(SearchSpaceError, match="not a value of 'optimizer'"):
        Space.from_dict(SEED_DICT | {"momentum": {"type": "float", "min": 0.8, "max": 0.99,
                                                   "condition": {"optimizer": "Adagrad"}}})
    with pytest.raises(SearchSpaceError, match="cycle"):
        Space({"a": Categorical([1, 2], condition={"b": 1}),
               "b": Categorical([1, 2], condition={"a": 1})})


def test_encode_rejects_bad_params():
    space = Space.from_dict(SEED_DICT)
    good = {"learning_rate": 1e-3, "batch_size": 64, "units": 64, "optimizer": "Adam"}
    space.encode(good)
    with pytest.raises(SearchSpaceError, match="'units'"):
        space.encode(good | {"units": 1024})
    with pytest.raises(SearchSpaceError, match="'momentum' is active"):
        space.encode(good | {"optimizer": "SGD"})
    with pytest.raises(SearchSpaceError, match="unknown parameter"):
        space.encode(good | {"depth": 3})


def test_nested_condition_and_multi_value_condition():
    space = Space.from_dict({
        "opt": {"type": "categorical", "values": ["sgd", "adam", "rmsprop"]},
        "momentum": {"type": "float", "min": 0.0, "max": 0.9,
                     "condition": {"opt": ["sgd", "rmsprop"]}},
        "nesterov": {"type": "categorical", "values": [True, False], "condition": {"opt": "sgd"}},
    })
    assert space.decode([0.1, 0.5, 0.1]) == {"opt": "sgd", "momentum": 0.45, "nesterov": True}
    assert space.decode([0.9, 0.5, 0.1]) == {"opt": "rmsprop", "momentum": 0.45}
    assert space.decode([0.5, 0.5, 0.1]) == {"opt": "adam"}
    assert Space.from_dict(space.to_dict()) == space
