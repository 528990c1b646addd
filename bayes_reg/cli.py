"""The ``bayes-reg`` command line.

Exit codes: 0 success, 2 bad input (the message names the field and the rule), 1 failure.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

from bayes_reg import _validate, conventions
from bayes_reg.cli_parser import parser
from bayes_reg.priors import ElasticNet


class _InputError(Exception):
    """Bad input from the command line; reported with exit code 2."""


def _prior_dict(prior) -> dict:
    if isinstance(prior, ElasticNet):
        return {
            "family": prior.family,
            "gaussian_scale": prior.gaussian_scale,
            "laplace_scale": prior.laplace_scale,
        }
    return {"family": prior.family, "scale": prior.scale}


def _convert(args) -> int:
    try:
        n = _validate.positive_int("n", args.n)
        prior = conventions.to_prior(
            args.source,
            args.strength,
            n=n,
            sigma=args.sigma,
            family=args.family,
            l1_ratio=args.l1_ratio,
        )
        likelihood = conventions.get_convention(args.source).likelihood
        # Least squares has a noise scale; a GLM names its likelihood (and the gamma its sigma).
        data = {"likelihood": likelihood} if likelihood != "gaussian" else {}
        data |= {"sigma": args.sigma} if likelihood in conventions.SCALED else {}
        out = {
            "from": {"convention": args.source, "strength": args.strength},
            "n": n,
            **data,
            "prior": _prior_dict(prior),
        }
        if args.to != "prior":
            penalty = conventions.convert(
                args.strength,
                source=args.source,
                target=args.to,
                n=n,
                sigma=args.sigma,
                family=args.family,
                l1_ratio=args.l1_ratio,
            )
            out["to"] = args.to
            out["strength"] = penalty.strength
            if penalty.l1_ratio not in (0.0, 1.0):
                out["l1_ratio"] = penalty.l1_ratio
    except (ValueError, TypeError) as err:
        raise _InputError(str(err)) from None
    if args.json:
        print(json.dumps(out))
        return 0
    scales = ", ".join(f"{k} = {v:.6g}" for k, v in out["prior"].items() if k != "family")
    data = ", ".join(
        ([f"{likelihood} likelihood"] if likelihood != "gaussian" else [])
        + ([f"sigma = {args.sigma:g}"] if args.sigma is not None else [])
    )
    print(f"{args.source} strength {args.strength:g} (n = {n}, {data})")
    print(f"  is the MAP of a {prior.family} prior on w with {scales}")
    if "strength" in out:
        extra = f", l1_ratio = {out['l1_ratio']:.6g}" if "l1_ratio" in out else ""
        print(f"  = {args.to} strength {out['strength']:.6g}{extra}")
    return 0


def _conventions() -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title="Penalty conventions (r = y - Xw - b; NLL = negative log-likelihood; the "
        "Bayesian model never penalises the intercept b)",
        show_lines=True,
    )
    for column in ("name", "likelihood", "framework", "objective minimised", "priors", "bias"):
        table.add_column(column, overflow="fold")
    for c in conventions.ALL_CONVENTIONS.values():
        cells = (c.name, c.likelihood, c.framework, c.objective, ", ".join(c.families), c.bias)
        table.add_row(*map(escape, cells))  # "[eps, 1 - eps]" is text, not rich markup
    console = Console(width=max(Console().width, 140))
    console.print(table)
    console.print(
        "Least-squares and gamma conventions need --sigma; logistic (bernoulli) and Poisson ones "
        "do not. A strength converts only between conventions of the same likelihood."
    )
    console.print("AdamW (decoupled weight decay) is refused: " + conventions.ADAMW_NOTE)
    return 0


#: Cards shipped in the package (package data), and the ones the demo runs.
CARDS_DIR = Path(__file__).resolve().parent / "models"
DEMO_CARDS = ("d2l-weight-decay", "diabetes-lasso", "diabetes-ridge", "toy-gap-dropout")
#: The demo's comparison: runs of DEMO_CARDS on the same rows, compared into OUT/NAME.
DEMO_COMPARE = ("diabetes-compare", ("diabetes-ridge", "diabetes-lasso"))


def _find_card(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    shipped = CARDS_DIR / f"{name.removesuffix('.toml')}.toml"
    if shipped.is_file():
        return shipped
    raise _InputError(
        f"card {name!r} not found: give a path to a .toml file or one of "
        f"{', '.join(p.stem for p in sorted(CARDS_DIR.glob('*.toml')))}"
    )


def _cards() -> int:
    from bayes_reg.run.card import card_title

    for path in sorted(CARDS_DIR.glob("*.toml")):
        print(f"{path.stem:24s} {card_title(path)}")
    print(f"\n(in {CARDS_DIR}; run one with `bayes-reg run NAME --out DIR`)")
    return 0


def _run(card_name: str, out: str, *, seed=None, only=None, quiet=False) -> Path:
    from bayes_reg.run.card import load_card
    from bayes_reg.run.results_dir import check_out_dir

    card = load_card(_find_card(card_name))
    check_out_dir(out, protected=card.inputs)  # before any computation, and again at the end
    parent = Path(out).expanduser().resolve().parent
    try:  # checked before any computation, not after it
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _InputError(
            f"--out {out}: cannot write into {parent} ({err.strerror}); choose a writable folder"
        ) from None
    if not os.access(parent, os.W_OK):
        raise _InputError(f"--out {out}: cannot write into {parent}; choose a writable folder")
    # The computing modules load only now, so that a refusal above answers at once.
    import jax

    from bayes_reg.cache import enable_compilation_cache
    from bayes_reg.run.page import write_outputs
    from bayes_reg.run.stages import run_card

    # Reports compare against exact results: float64 throughout, as in the tests.
    jax.config.update("jax_enable_x64", True)
    enable_compilation_cache()
    log = (lambda *a: None) if quiet else (lambda msg: print(f"[{card.path.stem}] {msg}"))
    result = run_card(card, only=only, seed=seed, progress=not quiet, log=log)
    return write_outputs(result, out)


def _sweep(args) -> int:
    from bayes_reg.run.results_dir import OutputDirError
    from bayes_reg.run.sweep import Sweep, parse_setting, parse_splits, run_sweep

    dims = {}
    try:
        if args.seeds:
            dims["seed"] = list(dict.fromkeys(args.seeds))
        if args.splits:
            dims["data.split"] = parse_splits(args.splits)
        for text in args.settings:
            key, values = parse_setting(text)
            if key in dims:
                raise ValueError(f"--set {key}: the key is swept twice; give its values once")
            dims[key] = values
        card = _find_card(args.card).resolve()
        sweep = Sweep(card, dims, only=tuple(args.only) if args.only else None)
        log = (lambda msg: None) if args.quiet else (lambda msg: print(f"[sweep] {msg}"))
        record = run_sweep(
            sweep,
            args.out,
            engine=args.engine,
            address=args.address,
            cpus_per_task=args.cpus_per_task,
            progress=not args.quiet,
            log=log,
        )
    except (ValueError, OutputDirError, ModuleNotFoundError) as err:
        raise _InputError(str(err)) from None
    out = Path(args.out).expanduser().resolve()
    failed = {n: c for n, c in record["combinations"].items() if c["status"] == "failed"}
    for name, combo in failed.items():
        print(f"bayes-reg sweep: {name} failed: {combo['error']}", file=sys.stderr)
    done = len(record["combinations"]) - len(failed)
    print(f"sweep: {done} of {len(record['combinations'])} combination(s) finished in {out}")
    print(f"merged: {out / 'sweep.nc'}, {out / 'sweep.csv'}")
    return 1 if failed else 0


def _compare(results: list[str], out: str) -> Path:
    from bayes_reg.run.compare_runs import CompareError, compare_runs

    try:
        return compare_runs(results, out)
    except CompareError as err:
        raise _InputError(str(err)) from None


def _demo(out: str, quiet: bool) -> int:
    for name in DEMO_CARDS:
        where = _run(name, str(Path(out) / name), quiet=quiet)
        print(f"report: {where / 'report.html'}")
    name, runs = DEMO_COMPARE
    where = _compare([str(Path(out) / run) for run in runs], str(Path(out) / name))
    print(f"report: {where / 'report.html'}")
    return 0


def one_line_warnings(command: str):
    """A ``warnings.showwarning`` that prints the project's own warnings about a model
    (:class:`~bayes_reg.UninformedWarning`) as one line naming the command, once each: the
    library line Python would name means nothing at the command line. Others as Python shows
    them."""
    shown, python = set(), warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, _validate.UninformedWarning):
            return python(message, category, filename, lineno, file, line)
        if str(message) not in shown:  # each fit of a card (a mode, a posterior) warns again
            shown.add(str(message))
            print(f"bayes-reg {command}: warning: {message}", file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bayes-reg``; returns the exit code: 0 success, 2 bad input, 1 failure."""
    args = parser().parse_args(argv)
    with warnings.catch_warnings():  # puts Python's own display back afterwards
        warnings.showwarning = one_line_warnings(args.command)
        return _main(args)


def _main(args) -> int:
    from bayes_reg.run.schema import CardError

    try:
        if args.command == "conventions":
            return _conventions()
        if args.command == "cards":
            return _cards()
        if args.command == "run":
            where = _run(args.card, args.out, seed=args.seed, only=args.only, quiet=args.quiet)
            print(f"report: {where / 'report.html'}")
            return 0
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "demo":
            return _demo(args.out, args.quiet)
        if args.command == "compare":
            where = _compare(args.results, args.out)
            print(f"report: {where / 'report.html'}")
            return 0
        if args.command == "predict":
            from bayes_reg.run.predict_rows import predict_csv

            out = predict_csv(
                args.results,
                args.data,
                args.out,
                coverage=args.interval,
                seed=args.seed,
                view=args.view,
            )
            print(f"predictions: {out}")
            return 0
        return _convert(args)
    except (_InputError, CardError, FileNotFoundError) as err:
        print(f"bayes-reg {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as err:  # checks that only the data could trigger
        print(f"bayes-reg {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        what = (
            "the combinations that finished are kept; the same command resumes the sweep"
            if args.command == "sweep"
            else "nothing was written"
        )
        print(f"bayes-reg {args.command}: interrupted; {what}", file=sys.stderr)
        return 130
    except Exception as err:  # a failure, not bad input
        print(f"bayes-reg {args.command}: failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
