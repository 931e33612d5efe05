"""Placing `search_space=` dict parameters into the IR as HPO nodes ("lifting").

After :func:`~neural_jax.ir.space.bind_search_space` a dict entry is a
:class:`~neural_jax.ir.space.SearchParam` with target paths. :func:`lift` writes an HPO node
named by the parameter at each target, so that everything downstream (bucketing, the model
builder, the training settings) sees one kind of searched value. A searched optimizer type
(``"optimizer": {"type": "categorical", "values": ["Adam", "SGD"]}``) becomes a choice of
optimizers that keep the written arguments each of them accepts; an optimizer argument then
goes into every option that takes it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from neural_jax.ir.nodes import (
    HPO,
    Choice,
    EarlyStopping,
    Layer,
    LogRange,
    Loss,
    Network,
    Optimizer,
    Range,
    Schedule,
    Train,
)
from neural_jax.ir.registry import LAYERS
from neural_jax.ir.space import SearchParam
from neural_jax.ir.training import OPTIMIZERS, SCHEDULES, lookup

__all__ = ["lift", "hpo_node"]


def hpo_node(p: SearchParam) -> HPO:
    """The HPO node equivalent to a search parameter (path = its name)."""
    if p.kind == "categorical":
        return Choice(path=p.name, values=tuple(p.choices))
    if p.log:
        return LogRange(path=p.name, low=p.low, high=p.high, is_int=p.kind == "int")
    return Range(path=p.name, low=p.low, high=p.high, step=p.step, is_int=p.kind == "int")


def _set_param(params: tuple, order: tuple[str, ...], name: str, value: Any) -> tuple:
    d = dict(params)
    d[name] = value
    return tuple((k, d[k]) for k in order if k in d)


def _map_layers(items: tuple, fn) -> tuple:
    out = []
    for it in items:
        if isinstance(it, Choice):
            it = dataclasses.replace(it, values=_map_layers(it.values, fn))
        elif isinstance(it, Layer):
            params = tuple((k, _map_layers((v,), fn)[0] if isinstance(v, Layer) else v)
                           for k, v in it.params)
            block = _map_layers(it.block, fn) if it.block else it.block
            it = fn(dataclasses.replace(it, params=params, block=block))
        out.append(it)
    return tuple(out)


def _with_optimizer_arg(opt: Optimizer, name: str, value: Any) -> Optimizer:
    sig = OPTIMIZERS[opt.type].arg_names
    if "." in name:  # a schedule argument: learning_rate.decay_rate
        head, sub = name.split(".", 1)
        sched = opt.get(head)
        if not isinstance(sched, Schedule):
            return opt
        order = SCHEDULES[sched.type].arg_names
        sched = dataclasses.replace(sched, params=_set_param(sched.params, order, sub, value))
        return dataclasses.replace(opt, params=_set_param(opt.params, sig, head, sched))
    if name not in sig:
        return opt
    return dataclasses.replace(opt, params=_set_param(opt.params, sig, name, value))


def _optimizer_choice(net: Network, node: Choice) -> Choice:
    base = net.optimizer if isinstance(net.optimizer, Optimizer) else None
    options = []
    for k, t in enumerate(node.values):
        key = lookup(OPTIMIZERS, str(t))
        sig = set(OPTIMIZERS[key].arg_names)
        params = tuple((n, v) for n, v in (base.params if base else ()) if n in sig)
        order = OPTIMIZERS[key].arg_names
        params = tuple((n, dict(params)[n]) for n in order if n in dict(params))
        options.append(Optimizer(type=key, params=params, path=f"optimizer.choice[{k}]"))
    return Choice(path=node.path, values=tuple(options))


def _place(net: Network, target: str, node: HPO) -> Network:
    if target == "optimizer":
        return dataclasses.replace(net, optimizer=_optimizer_choice(net, node))
    if target.startswith("optimizer."):
        arg = target.split(".", 1)[1]
        opt = net.optimizer if net.optimizer is not None else Optimizer(type="Adam")
        if isinstance(opt, Choice):
            return dataclasses.replace(net, optimizer=dataclasses.replace(opt, values=tuple(
                _with_optimizer_arg(o, arg, node) for o in opt.values)))
        return dataclasses.replace(net, optimizer=_with_optimizer_arg(opt, arg, node))
    if target.startswith("train."):
        key = target.split(".", 1)[1]
        if key == "early_stopping.patience":
            es = net.train.early_stopping or EarlyStopping()
            return dataclasses.replace(net, train=dataclasses.replace(
                net.train, early_stopping=dataclasses.replace(es, patience=node)))
        train = dataclasses.replace(net.train or Train(), **{key: node})
        return dataclasses.replace(net, train=train)
    if target.startswith("loss."):
        key = target.split(".", 1)[1]
        loss = net.loss or Loss()
        return dataclasses.replace(net, loss=dataclasses.replace(
            loss, params=_set_param(loss.params, (*dict(loss.params), key), key, node)))
    layer_path, _, pname = target.rpartition(".")

    def fn(layer: Layer) -> Layer:
        if layer.path != layer_path:
            return layer
        order = tuple(p.name for p in LAYERS[layer.type].params)
        return dataclasses.replace(layer, params=_set_param(layer.params, order, pname, node))

    return dataclasses.replace(net, layers=_map_layers(net.layers, fn))


def lift(net: Network, params: tuple[SearchParam, ...]) -> Network:
    """``net`` with every dict-bound parameter written in as an HPO node at its targets."""
    dict_params = [p for p in params if p.origin == "dict"]
    # the optimizer type first, so that its arguments go into the options
    dict_params.sort(key=lambda p: p.targets != ("optimizer",))
    for p in dict_params:
        node = hpo_node(p)
        for t in p.targets:
            net = _place(net, t, node)
    return net
