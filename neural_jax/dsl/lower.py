"""AST -> IR: networks and their layers (training sections in :mod:`lower_train`).

Entry points: :func:`lower_file` (every network of a file) and :func:`lower_network`.
Repetition ``* N`` becomes N deep copies, each Layer recording its repetition frame
``(site, copy, count)`` so that the printer can write ``* N`` back. Every error is a
:class:`NeuralValidationError` at the offending text.
"""

from __future__ import annotations

import dataclasses

from neural_jax.core.errors import NeuralValidationError, did_you_mean
from neural_jax.core.source import Source
from neural_jax.dsl import ast
from neural_jax.dsl.lower_train import DEVICE_RE, TrainLowerer
from neural_jax.ir.nodes import Choice, Layer, Network, Train
from neural_jax.ir.params import INT_MAX
from neural_jax.ir.registry import LAYERS, LayerSpec, lookup_layer

__all__ = ["lower_file", "lower_network"]

#: The most layers one network may expand to (repetitions and macros included).
MAX_LAYERS = 100_000

_NETWORK_KEYS = ("input", "layers", "loss", "metrics", "optimizer", "batch_size", "train",
                 "execution", "execute")


def lower_file(file: ast.FileNode) -> tuple[Network, ...]:
    """Lowers every network of an (already macro-expanded) file."""
    names: dict[str, ast.NetworkNode] = {}
    for n in file.networks:
        if n.name in names:
            raise file.source.error(NeuralValidationError, n.span,
                                    f"network '{n.name}' is defined twice", "rename one of them")
        names[n.name] = n
    macros = tuple(m.name for m in file.macros)
    return tuple(lower_network(n, file.source, macros) for n in file.networks)


def lower_network(node: ast.NetworkNode, source: Source, macros: tuple = ()) -> Network:
    """Lowers one ``network Name { ... }`` (``macros``: the file's macro names, for hints)."""
    low = _NetworkLowerer(source)
    low.macro_names = macros
    return low.network(node)


class _NetworkLowerer(TrainLowerer):
    layer_count = 0
    macro_names: tuple = ()

    def network(self, node: ast.NetworkNode) -> Network:
        seen: dict[str, ast.Section | ast.BlockSection] = {}
        for e in node.entries:
            key = "execution" if e.key == "execute" else e.key
            if key not in _NETWORK_KEYS:
                hint = did_you_mean(e.key, _NETWORK_KEYS) or (
                    "sections are " + ", ".join(_NETWORK_KEYS[:-1]))
                if key in ("epochs", "validation_split", "search_method", "seed", "early_stopping"):
                    hint = f"put {key} inside train {{ ... }}"
                raise self.fail(e.span, f"unknown section '{e.key}'", hint)
            if key in seen:
                first = seen[key].span.line
                raise self.fail(e.span, f"section '{key}' appears twice (first at line {first})",
                                "keep one of them")
            want_block = key in ("train", "execution")
            if want_block != isinstance(e, ast.BlockSection):
                form = f"{key} {{ ... }}" if want_block else f"{key}: value"
                raise self.fail(e.span, f"'{key}' is written as `{form}`", f"write `{form}`")
            seen[key] = e
        if "input" not in seen:
            raise self.fail(node.span, f"network '{node.name}' has no input: section",
                            "add e.g. `input: (28, 28, 1)` (the shape without the batch axis)")
        if "layers" not in seen:
            raise self.fail(node.span, f"network '{node.name}' has no layers: section",
                            "add `layers:` followed by layer calls")
        input_shapes = self.input_shapes(seen["input"])
        layers = self.layer_list(seen["layers"].items, "layers")
        if not layers:
            raise self.fail(seen["layers"].span, "the layers: section is empty",
                            "list the layers after `layers:`, e.g. Dense(64)")
        train = self.train(seen.get("train"), seen.get("batch_size"))
        return Network(
            name=node.name,
            input_shapes=input_shapes,
            layers=layers,
            loss=self.loss(seen["loss"]) if "loss" in seen else None,
            metrics=self.metrics(seen["metrics"]) if "metrics" in seen else (),
            optimizer=self.optimizer_section(seen["optimizer"]) if "optimizer" in seen else None,
            train=train if train is not None else Train(),
            execution=self.execution(seen["execution"]) if "execution" in seen else None,
            span=node.span,
            close=node.close,
            source=self.src,
            sites=dict(self.sites),
        )

    # --- input ------------------------------------------------------------------------------

    def input_shapes(self, sec: ast.Section) -> tuple[tuple[int | None, ...], ...]:
        shapes = []
        for it in sec.items:
            self.no_extras(it, "input")
            v = it.value
            if isinstance(v, ast.Literal) and not isinstance(v.value, str):
                dims_nodes = (v,)
            elif isinstance(v, (ast.TupleNode, ast.ListNode)):
                dims_nodes = v.items
            else:
                if isinstance(v, ast.Call) and v.name.upper() == "HPO":
                    raise self.fail(v.span, "HPO is not allowed in input:",
                                    "the input shape is fixed by the data")
                raise self.fail(v.span, "input: takes a shape such as (28, 28, 1)",
                                "write the shape of one sample as a tuple of whole numbers")
            dims = []
            for d in dims_nodes:
                if isinstance(d, ast.Call) and d.name.upper() == "HPO":
                    raise self.fail(d.span, "HPO is not allowed in input: dimensions",
                                    "the input shape is fixed by the data")
                val = d.value if isinstance(d, ast.Literal) else "?"
                bad = isinstance(val, bool) or not isinstance(val, int) or val < 1
                if val is not None and bad:
                    raise self.fail(getattr(d, "span", it.span),
                                    "input dimension must be a whole number >= 1 or None, "
                                    f"got {val!r}",
                                    "write the shape of one sample, e.g. (28, 28, 1)")
                if val is not None and val > INT_MAX:
                    raise self.fail(d.span, f"input dimension must be at most {INT_MAX}, got a "
                                    f"{len(str(val))}-digit number",
                                    "write the shape of one sample, e.g. (28, 28, 1)")
                dims.append(val)
            if dims and dims[0] is None:
                dims = dims[1:]  # a leading None is the batch axis
            if not dims:
                raise self.fail(it.span, "input: shape has no dimensions",
                                "write the shape of one sample, e.g. (784,)")
            shapes.append(tuple(dims))
        return tuple(shapes)

    # --- layers -----------------------------------------------------------------------------

    def layer_list(self, items, prefix: str) -> tuple:
        out: list = []
        for it in items:
            self.emit(it, prefix, (), out)
        return tuple(out)

    def emit(self, it: ast.Item, prefix: str, frames: tuple, out: list) -> None:
        count = 1 if it.repeat is None else it.repeat
        if count < 1:
            raise self.fail(it.repeat_span, f"repetition count must be >= 1, got {count}",
                            "write * N with N >= 1, or remove the repetition")
        if count > MAX_LAYERS:
            raise self.fail(it.repeat_span, f"repetition count {count} is too large",
                            f"a network has at most {MAX_LAYERS} layers")
        site = len(out)
        for copy in range(count):
            fr = frames if it.repeat is None else frames + ((site, copy, count),)
            if isinstance(it.value, ast.Group):
                for sub in it.value.items:
                    self.emit(sub, prefix, fr, out)
            else:
                out.append(self.layer_item(it, f"{prefix}[{len(out)}]", fr))

    def layer_item(self, it: ast.Item, path: str, frames: tuple):
        v = it.value
        device = self.device(it.device) if it.device is not None else None
        if isinstance(v, ast.Call) and v.name.upper() == "HPO":
            if it.block is not None:
                raise self.fail(it.block_span, "a layer choice cannot take a { block }",
                                "give each option its own block")
            node = self.hpo(v, path, None, "a layer choice",
                            option=lambda n, p: self.layer_call(n, p, None, (), device))
            if not isinstance(node, Choice) or not all(isinstance(x, Layer) for x in node.values):
                raise self.fail(v.span, "an HPO in a layer list must be a choice of layers",
                                "write HPO(choice(Dense(64), Dropout(0.5)))")
            return dataclasses.replace(node, repeat=frames)
        return self.layer_call(v, path, it, frames, device)

    def layer_call(self, v, path: str, it: ast.Item | None, frames: tuple, device) -> Layer:
        self.layer_count += 1
        if self.layer_count > MAX_LAYERS:
            raise self.fail(getattr(v, "span", None),
                            f"the network expands to more than {MAX_LAYERS} layers",
                            "use fewer repetitions (* N) or smaller macros")
        if isinstance(v, ast.Name):
            v = ast.Call(v.name, (), v.span, close=v.span.end)
        if isinstance(v, ast.Group):
            raise self.fail(v.span, f"macro '{v.macro}' cannot be used here",
                            "macros expand to layers in a layers: list or block")
        if not isinstance(v, ast.Call):
            raise self.fail(getattr(v, "span", None), "expected a layer call such as Dense(64)",
                            "a layers: list holds layer calls; values go inside them")
        spec = lookup_layer(v.name)
        if spec is None and v.name in self.macro_names:
            raise self.fail(v.span, f"macro '{v.name}' cannot be used here",
                            "macros expand in a layers: list or a block, not inside a call")
        if spec is None:
            hint = did_you_mean(v.name, (*LAYERS, *self.macro_names)) or (
                "see SPEC §2 for the layers")
            raise self.fail(v.span, f"unknown layer or macro '{v.name}'", hint)
        params, arg_spans = self.bind(spec.name, spec.params, v, path, "layer")
        for name, val in list(params.items()):
            p = spec.param(name)
            if p.kind == "layer":
                params[name] = self.wrapped(spec, val, f"{path}.{name}", frames)
        block = None
        if it is not None and it.block is not None:
            if spec.block == "none":
                raise self.fail(it.block_span, f"{spec.name} does not take a {{ block }}",
                                "only ResidualConnection and TransformerEncoder take one")
            block = self.layer_list(it.block, f"{path}.block")
            if not block:
                raise self.fail(it.block_span, f"the block of {spec.name} is empty",
                                "put at least one layer inside { }")
        elif spec.block == "required":
            raise self.fail(v.span, f"{spec.name} needs a {{ block }} of layers",
                            f"write {spec.name}() {{ Dense(64) ... }}")
        ordered = tuple((p.name, params[p.name]) for p in spec.params if p.name in params)
        return Layer(type=spec.name, params=ordered, path=path, device=device, block=block,
                     repeat=frames, span=v.span, arg_spans=tuple(arg_spans.items()),
                     close=v.close)

    def wrapped(self, spec: LayerSpec, node, path: str, frames: tuple) -> Layer:
        if not isinstance(node, (ast.Call, ast.Name)):
            raise self.fail(getattr(node, "span", None), f"{spec.name} wraps a layer call",
                            f"write {spec.name}(LSTM(64))" if spec.name == "Bidirectional"
                            else f"write {spec.name}(Dense(64))")
        if isinstance(node, ast.Call) and node.name.upper() == "HPO":
            raise self.fail(node.span, f"{spec.name} cannot wrap an HPO expression",
                            f"choose between whole layers: HPO(choice({spec.name}(...), "
                            f"{spec.name}(...)))")
        inner = self.layer_call(node, path, None, (), None)
        if spec.wraps_recurrent and not LAYERS[inner.type].recurrent:
            raise self.fail(node.span, f"Bidirectional wraps a recurrent layer, not {inner.type}",
                            "use LSTM, GRU or SimpleRNN inside it")
        return inner

    def bind(self, owner: str, signature, call: ast.Call, path: str, what: str):
        """Binds a call's arguments to a signature; returns (values by name, spans by name)."""
        names = [p.name for p in signature]
        values: dict = {}
        spans: dict = {}
        for i, a in enumerate(call.args):
            if a.name is None:
                if any(b.name is not None for b in call.args[:i]):
                    raise self.fail(a.span, "positional argument after a named one",
                                    "put positional arguments first")
                if i >= len(names):
                    shown = ", ".join(names) if names else "none"
                    raise self.fail(a.span, f"{owner} takes at most {len(names)} positional "
                                    f"argument{'s' if len(names) != 1 else ''} ({shown}), "
                                    f"got {sum(1 for b in call.args if b.name is None)}",
                                    "name the extra arguments or remove them")
                name = names[i]
            else:
                name = a.name
                if name not in names:
                    hint = did_you_mean(name, names) or (
                        f"{owner} takes ({', '.join(names)})" if names else f"{owner} takes none")
                    raise self.fail(a.name_span or a.span,
                                    f"{owner} has no parameter '{name}'", hint)
            if name in values:
                raise self.fail(a.span, f"argument '{name}' of {owner} is given twice",
                                "remove one of them")
            p = signature[names.index(name)]
            if p.kind == "layer":
                values[name] = a.value
            else:
                values[name] = self.value(a.value, f"{path}.{name}", p, f"{owner} {name}")
            spans[name] = a.value.span
        for p in signature:
            if p.required and p.name not in values:
                needed = ", ".join(q.name + "=..." for q in signature if q.required)
                raise self.fail(call.span, f"{owner} needs '{p.name}'",
                                f"write {owner}({needed})")
            if p.name not in values:
                self.sites[f"{path}.{p.name}"] = ("insert", call.close, bool(call.args), p.name)
        return values, spans

    def device(self, lit: ast.Literal) -> str:
        val = lit.value
        if not isinstance(val, str) or not DEVICE_RE.match(val):
            raise self.fail(lit.span, f"unknown device {val!r}",
                            'use "cpu", "gpu", "gpu:N", "cuda", "cuda:N", "tpu", "tpu:N" or "auto"')
        return val.lower()

