"""The ``neural compile`` and ``neural export`` commands, and ``neural run --backend
pytorch|tensorflow``.

The ``neural`` command (:mod:`neural_jax.cli`) reaches them by lazy name (its ``COMMANDS``
and ``RUNNERS``).

``neural compile FILE --backend B [-o OUT]`` writes a standalone training script for the
network in TensorFlow, PyTorch or JAX; ``--params`` fixes HPO values, and ``--hpo`` searches
first (the same options as ``neural hpo``) and then writes the optimized ``.neural`` file
beside the script and the script of the *optimized* model.

``neural export RUN_DIR --backend {pytorch,tensorflow} [-o OUT]`` reads a run folder written
by ``neural run`` (``network.neural``, ``metrics.json``, ``params.msgpack``) and writes its
trained weights as a PyTorch ``state_dict`` (``.pt``) or a Keras weights file
(``.weights.h5``) for the model the bridge builds from the same network.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

__all__ = ["add_commands", "cmd_compile", "cmd_export", "run_in_backend"]

_CODE_BACKENDS = ["jax", "pytorch", "tensorflow"]


def _search(args: argparse.Namespace, code: str) -> dict:
    from neural_jax.cli_report import data_options
    from neural_jax.hpo import HPOptimizer
    from neural_jax.inputs import pick_network
    from neural_jax.objective import default_metric, resolve_direction

    # the network --network names, its own metric (val_loss for a regression network)
    metric = default_metric(pick_network(code, args.network, name=args.file))
    direction = resolve_direction(metric, None)
    better = max if direction == "maximize" else min

    def on_round(rnd: int, records: list[dict]) -> None:
        vals = [r["value"] for r in records if r.get("value") is not None]
        best = better(vals) if vals else float("nan")
        print(f"round {rnd + 1}: {len(records)} trials, best {metric} of the round {best:.4f}",
              flush=True)

    opt = HPOptimizer(strategy=args.strategy, n_trials=args.n_trials, population=args.population,
                      seed=args.seed, epochs=args.epochs,
                      data_dir=data_options(args.dataset or "digits",
                                            args.data_dir).get("data_dir"),
                      on_round=on_round)
    best = opt.optimize(code, dataset_name=args.dataset or "digits", metric=metric,
                        direction=direction, network=args.network)
    if not best:
        raise SystemExit("error: no trial completed; nothing to compile")
    print(f"best {metric} {opt.best_value:.4f}: {json.dumps(best)}")
    return best


def cmd_compile(args: argparse.Namespace) -> int:
    """``neural compile``: see the module docstring."""
    from bridges.codegen import generate_code
    from neural_jax.cli_paths import check_output_file, make_parents
    from neural_jax.dsl.api import load, parse
    from neural_jax.dsl.optimized import generate_optimized_dsl
    from neural_jax.ir.checker import check

    if args.output:  # before any search: --hpo also writes OUT with the suffix .neural
        check_output_file(args.output, "-o", inputs=[args.file])
        if args.hpo:
            check_output_file(pathlib.Path(args.output).with_suffix(".neural"),
                              "-o (its .neural file)", inputs=[args.file])
    text = pathlib.Path(args.file).read_text(encoding="utf-8")
    net = load(args.file, args.network)
    check(net)
    script_data = args.dataset
    if script_data is not None and script_data.strip().lower() == "synthetic":
        # synthetic data is made for a search; a script trains on load_data()'s random stand-in
        script_data = None
    elif script_data is not None:  # before any search: a name the script can read
        from bridges.codegen.api import script_dataset

        script_dataset(script_data)
    from neural_jax.ir.config import parse_json, validate_config

    config = parse_json(args.params) if args.params else {}
    if config:  # checked (labels -> indices) before any search or code is written
        config = validate_config(net, config, where="--params")
    if args.hpo:
        best = _search(args, text)
        optimized = generate_optimized_dsl(text, best, network=args.network)
        parse(optimized)  # the optimized file must read back
        config = best  # the script's header lists the values found
        if args.dataset is None:
            script_data = "digits"
        dsl_out = pathlib.Path(args.output).with_suffix(".neural") if args.output else None
        if dsl_out is not None:
            make_parents(dsl_out)
            dsl_out.write_text(optimized, encoding="utf-8")
            print(f"wrote the optimized network to {dsl_out}")
        else:
            print(optimized)
    code = generate_code(net, args.backend, config, dataset=script_data)
    if args.output:
        out = pathlib.Path(args.output)
        make_parents(out)
        out.write_text(code, encoding="utf-8")
        print(f"wrote the {args.backend} script to {out}")
    else:
        sys.stdout.write(code)
    return 0


def _load_run(folder: pathlib.Path):
    """The network, configuration and trained JAX variables of a ``neural run`` folder."""
    import jax
    import numpy as np

    from neural_jax.dsl.api import parse
    from neural_jax.jax import build_model
    from neural_jax.train.checkpoint import load_params

    _check_run_folder(folder)
    net = parse((folder / "network.neural").read_text(encoding="utf-8"))
    record = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    config = record.get("config", {})
    model = build_model(net, config)
    x = np.zeros((1,) + tuple(d or 1 for d in net.input_shape), np.float32)
    if model.plan.layers and model.plan.layers[0].type == "Embedding":
        x = x.astype(np.int32)
    template = model.init(jax.random.PRNGKey(0), x)
    try:
        variables = load_params(folder, template)
    except Exception as e:  # noqa: BLE001 - msgpack/flax raise many types for a bad file
        from bridges.errors import WeightMismatch

        raise WeightMismatch(
            f"{folder / 'params.msgpack'} cannot be read as the weights of network "
            f"'{net.name}' ({type(e).__name__}: {e})",
            hint="export a folder written by `neural run` for this network") from e
    return net, config, variables


def _check_run_folder(folder: pathlib.Path) -> None:
    """Raises a one-line error unless ``folder`` holds a JAX run of ``neural run``; a
    PyTorch or TensorFlow run's folder is named for what it holds and what to do."""
    from neural_jax.core.errors import NeuralError

    if not folder.is_dir():
        what = "no such folder" if not folder.exists() else "a file, not a folder"
        raise NeuralError(f"cannot export {folder}: {what}",
                                    hint="give the --out folder of `neural run`")
    if (folder / "params.msgpack").exists() and (folder / "network.neural").exists() and (
            folder / "metrics.json").exists():
        return
    held = [n for n in ("model.pt", "model.weights.h5") if (folder / n).exists()]
    if held:
        backend = "pytorch" if held[0] == "model.pt" else "tensorflow"
        raise NeuralError(
            f"cannot export {folder}: it is a {backend} run and already holds its trained "
            f"weights ({folder / held[0]}); export converts the JAX weights (params.msgpack) "
            "of a `neural run` with the jax backend",
            hint=f"load {folder / held[0]} in {backend}, or train with `neural run FILE "
                 f"--backend jax --out DIR` and export DIR")
    missing = [n for n in ("network.neural", "metrics.json", "params.msgpack")
               if not (folder / n).exists()]
    raise NeuralError(
        f"cannot export {folder}: not a run folder of `neural run` (missing "
        f"{', '.join(missing)})", hint="give the --out folder of `neural run`")


def cmd_export(args: argparse.Namespace) -> int:
    """``neural export``: see the module docstring."""
    from neural_jax.cli_paths import check_output_file, make_parents

    folder = pathlib.Path(args.run)
    if args.output:
        check_output_file(args.output, "-o", example="model.pt" if args.backend == "pytorch"
                          else "model.weights.h5",
                          inputs=[folder / n for n in ("params.msgpack", "network.neural",
                                                       "metrics.json", "best.json")])
    _check_run_folder(folder)
    net, config, variables = _load_run(folder)
    script = getattr(args, "layout", "script") == "script"
    if args.backend == "pytorch":
        from bridges.torch import build_module, load_jax_variables, save_state_dict

        module = build_module(net, config)
        load_jax_variables(module, variables)
        out = pathlib.Path(args.output or folder / "model.pt")
        if script:
            import torch

            from bridges.codegen.weights import torch_state_dict

            state = torch_state_dict(net, config, module)
            make_parents(out)
            torch.save(state, out)
        else:
            save_state_dict(module, out)
    else:
        from bridges.tensorflow import build_model, load_jax_variables, save_weights

        model = build_model(net, config)
        load_jax_variables(model, variables)
        out = pathlib.Path(args.output or folder / "model.weights.h5")
        if script:
            from bridges.codegen.weights import keras_model

            model = keras_model(net, config, model)
        make_parents(out)
        save_weights(model, out)
    print(f"wrote the {args.backend} weights of {net.name} to {out}")
    if script:
        if (folder / "best.neural").exists():  # a folder of `neural hpo -o DIR`
            dataset = json.loads((folder / "metrics.json").read_text()).get("dataset")
            make = (f"neural compile {folder / 'best.neural'} --backend {args.backend}"
                    + (f" --dataset {dataset}" if dataset else "") + " -o SCRIPT")
        else:
            make = (f"neural compile {folder / 'network.neural'} --backend {args.backend} "
                    f"--params '{json.dumps(_searched(net, config))}' -o SCRIPT")
        print(f"  they load into the script of `{make}`: "
              f"python SCRIPT --weights {out} --epochs 0 --evaluate")
    return 0


def _searched(net, config: dict) -> dict:
    """The values of ``config`` that HPO parameters of ``net`` take."""
    from neural_jax.ir.space import search_space

    names = {p.name for p in search_space(net)}
    return {k: v for k, v in config.items() if k in names}


def run_in_backend(args: argparse.Namespace, net, config: dict, overrides: dict, ds) -> int:
    """``neural run --backend pytorch|tensorflow``: trains through the bridge and saves.

    Writes ``metrics.json``, ``network.neural`` and the weights (``model.pt`` /
    ``model.weights.h5``) into ``--out``.
    """
    from neural_jax.ir.printer import to_dsl
    from neural_jax.train.checkpoint import _jsonable
    from neural_jax.train.spec import training_spec

    overrides = {k: v for k, v in overrides.items() if v is not None}
    spec = training_spec(net, config, overrides)
    from neural_jax.cli_report import (
        diverged,
        epoch_printer,
        failed_status,
        plural,
        print_scores,
        report_divergence,
    )

    print(f"training {net.name} on {ds.name} in {args.backend}: {plural(spec.epochs, 'epoch')}, "
          f"batch {spec.batch_size}, {spec.optimizer}")

    show = epoch_printer(spec.epochs)
    folder = pathlib.Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    if args.backend == "pytorch":
        import torch

        from bridges.torch import train_trial

        result = train_trial(net, ds, config, overrides, on_epoch=show)
        weights = folder / "model.pt"
        if not result.failed:
            torch.save(result.variables, weights)
    else:
        from bridges.tensorflow import train_trial

        result = train_trial(net, ds, config, overrides, on_epoch=show)
        weights = folder / "model.weights.h5"
        if not result.failed:
            _save_keras_result(net, result, weights)
    reason = diverged(result, ds)
    status = failed_status(result, reason)
    if status is not None:
        return status
    print_scores(result)
    record = {"network": net.name, "backend": args.backend, "config": _jsonable(result.config),
              "spec": _jsonable(spec.__dict__), "history": _jsonable(result.history),
              "val": result.val, "test": result.test, "best_epoch": result.best_epoch}
    (folder / "metrics.json").write_text(json.dumps(record, indent=2))
    (folder / "network.neural").write_text(to_dsl(net))
    print(f"saved weights and metrics to {folder}")
    return report_divergence(reason, str(folder))


def _save_keras_result(net, result, path: pathlib.Path) -> None:
    """Writes a TensorFlow trial's kept weights as a Keras weights file."""
    from bridges.tensorflow import build_model, load_jax_variables, save_weights

    model = build_model(net, result.config)
    load_jax_variables(model, result.variables)
    save_weights(model, path)


def add_commands(sub) -> None:
    """Adds ``compile`` and ``export`` to the ``neural`` sub-command parser."""
    from neural_jax.cli_values import non_negative_int, positive_int

    c = sub.add_parser("compile", help="write a standalone TensorFlow / PyTorch / JAX script")
    c.add_argument("file", help="the .neural file")
    c.add_argument("--backend", required=True, choices=_CODE_BACKENDS)
    c.add_argument("--network", help="the network of the file")
    c.add_argument("--params", help="JSON values for HPO parameters")
    c.add_argument("-o", "--output", help="the script to write (default: standard output)")
    c.add_argument("--hpo", action="store_true",
                   help="search first, then write the optimized .neural and its script")
    c.add_argument("--dataset", default=None,
                   help="a built-in dataset (digits, mnist, mnist_t10k, fashion_mnist, "
                        "cifar10...) the script trains on, read and split as `neural run` "
                        "does (default: random data to replace; --hpo: the searched one, "
                        "digits by default)")
    c.add_argument("--strategy", default=None)
    c.add_argument("--n-trials", type=positive_int, default=16)
    c.add_argument("--population", type=positive_int, default=None)
    c.add_argument("--epochs", type=positive_int, default=None)
    c.add_argument("--seed", type=non_negative_int, default=0)
    c.add_argument("--data-dir", default=None)
    c.set_defaults(func=cmd_compile)
    e = sub.add_parser("export", help="write a run's trained weights for PyTorch or Keras")
    e.add_argument("run", help="a folder written by `neural run`")
    e.add_argument("--backend", required=True, choices=["pytorch", "tensorflow"])
    e.add_argument("-o", "--output", help="the weights file (default: in the run folder)")
    e.add_argument("--layout", choices=["script", "bridge"], default="script",
                   help="script (default): for the script `neural compile` writes (python "
                        "SCRIPT --weights FILE); bridge: for bridges.torch.build_module / "
                        "bridges.tensorflow.build_model")
    e.set_defaults(func=cmd_export)
