"""The ``bayes-reg`` command line.

Exit codes: 0 success, 2 bad input (the message names the field and the rule), 1 failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bayes_reg import _validate, conventions
from bayes_reg.priors import ElasticNet

_EPILOG = """\
examples:
  bayes-reg demo
      the d2l weight-decay chapter, the diabetes lasso and ridge compared by LOO, and MC
      dropout on a 1-D toy problem, as reports in ./bayes-reg-demo
  bayes-reg cards
      the shipped model cards
  bayes-reg run d2l-weight-decay --out results/d2l
      run a card: report.html, posterior.nc, summary.json and figures in results/d2l
  bayes-reg run yacht-dropout --out results/yacht
      MC dropout against the posterior of the same network on the UCI yacht data
  bayes-reg predict results/diabetes --data new.csv --out predictions.csv --interval 0.9
      the posterior predictive of a result at new rows: mean, sd, lower, upper per row
  bayes-reg compare results/ridge results/lasso --out results/ridge-vs-lasso
      PSIS-LOO comparison of runs on the same rows: elpd differences with their standard
      errors, stacking weights, Pareto-k warnings (report.html, comparison.csv, summary.json)
  bayes-reg conventions
      the table of penalty conventions and the objective each minimises
  bayes-reg convert --from d2l --strength 3 --n 20 --sigma 0.01 --to sklearn-ridge
      the d2l chapter's lambd=3 as a Ridge alpha (and the prior both encode)
  bayes-reg convert --from sklearn-lasso --strength 0.05 --n 442 --sigma 54 --to prior --json
  bayes-reg convert --from sklearn-logistic --strength 1 --n 200 --to torch-bce
      LogisticRegression(C=1) on 200 rows as a torch weight decay (a GLM: no --sigma)
"""


class _InputError(Exception):
    """Bad input from the command line; reported with exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-reg",
        description="A penalty is a prior. Run model cards that set penalised fits (ridge, "
        "lasso, weight decay) and MC dropout beside the posterior of the prior they encode, "
        "and convert penalty strengths between frameworks exactly. Start with "
        "`bayes-reg demo`.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("conventions", help="list the penalty conventions with their objectives")

    run = sub.add_parser(
        "run",
        help="run a model card and write its report",
        description="Run a model card (the schema: bayes_reg/models/README.md) and write, "
        "atomically, OUT/report.html (self-contained), OUT/posterior.nc (the ArviZ DataTree), "
        "OUT/summary.json (the key numbers) and the figures as PNG.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("card", help="path to a card (.toml), or the name of a shipped card")
    run.add_argument(
        "--out",
        required=True,
        help="output folder: new, empty, or a previous result of bayes-reg (replaced when the "
        "new one is complete); any other folder is refused",
    )
    run.add_argument("--seed", type=int, help="override the card's seed")
    run.add_argument(
        "--only",
        nargs="+",
        metavar="STAGE",
        help="run only these stages: map, posterior, sgd (linear cards), dropout (cards with "
        "[dropout]); default all the card defines",
    )
    run.add_argument("--quiet", action="store_true", help="no progress output")

    sub.add_parser("cards", help="list the shipped model cards")

    pred = sub.add_parser(
        "predict",
        help="predict new rows from a result of `bayes-reg run`",
        description="The posterior predictive of a linear card's result at the rows of a CSV "
        "file with the columns the card's data had (its formula's inputs; categories and "
        "standardising are applied as in the fit). Writes one row per input row: the card's "
        "id column if it names one (else the line number), mean, sd, lower, upper (and "
        "probability for a binary outcome).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pred.add_argument("results", metavar="RESULTS_DIR", help="a folder `bayes-reg run` wrote")
    pred.add_argument("--data", required=True, help="CSV file of new rows")
    pred.add_argument("--out", required=True, help="CSV file to write (must not exist)")
    pred.add_argument(
        "--interval",
        type=float,
        default=0.9,
        help="probability of the central interval lower..upper (default: %(default)s)",
    )
    pred.add_argument("--seed", type=int, default=0, help="seeds the predictive draws")
    pred.add_argument(
        "--view",
        choices=("posterior", "mc_dropout"),
        default="posterior",
        help="a dropout card's predictive: the network's posterior (default) or MC dropout",
    )

    comp = sub.add_parser(
        "compare",
        help="compare results of `bayes-reg run` on the same rows by PSIS-LOO",
        description="Compare the results of linear cards fitted to the same rows (the same "
        "observed y and design X, checked value for value) by PSIS-LOO (arviz_stats.loo and "
        "compare): each model's elpd_loo, its difference from the best with the standard error "
        "of that difference, the stacking weights and the Pareto-k diagnostics. Writes, "
        "atomically, OUT/report.html (self-contained, with how to read the numbers), "
        "OUT/comparison.csv, OUT/summary.json and OUT/compare.png.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    comp.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS_DIR",
        help="two or more folders `bayes-reg run` wrote",
    )
    comp.add_argument(
        "--out",
        required=True,
        help="output folder: new, empty, or a previous result of bayes-reg; any other folder "
        "(or one holding a RESULTS_DIR) is refused",
    )

    demo = sub.add_parser(
        "demo", help="run the demo cards (about two minutes on a 2-core laptop CPU)"
    )
    demo.add_argument(
        "--out", default="bayes-reg-demo", help="output folder (default: %(default)s)"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress output")

    conv = sub.add_parser(
        "convert",
        help="convert a penalty strength to a prior or to another convention",
        description="Convert a penalty strength of one framework into the prior it encodes "
        "(MAP = penalised fit) and, with --to CONVENTION, into that framework's strength. "
        "Exact for linear regression with Gaussian noise of scale --sigma on --n rows, and for "
        "the logistic and Poisson GLM conventions, which take no --sigma; --to must have the "
        "same likelihood as --from.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    conv.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="CONVENTION",
        help="convention of --strength (see `bayes-reg conventions`)",
    )
    conv.add_argument(
        "--strength",
        required=True,
        type=float,
        help="the penalty strength: alpha, weight_decay, lambd, l2 ...",
    )
    conv.add_argument("--n", required=True, type=float, help="number of training rows")
    conv.add_argument(
        "--sigma",
        type=float,
        help="noise scale of a least-squares convention, in the units of y (required there; "
        "left out for a logistic or Poisson convention)",
    )
    conv.add_argument(
        "--family",
        choices=conventions.FAMILIES,
        help="which penalty --strength belongs to (default: the convention's own)",
    )
    conv.add_argument("--l1-ratio", type=float, help="L1 share in (0, 1) for elastic-net")
    conv.add_argument(
        "--to",
        default="prior",
        metavar="CONVENTION|prior",
        help="target convention, or `prior` (default)",
    )
    conv.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


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
        # Least squares has a noise scale; a GLM names its likelihood instead.
        data = {"sigma": args.sigma} if likelihood == "gaussian" else {"likelihood": likelihood}
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
    data = f"sigma = {args.sigma:g}" if args.sigma is not None else f"{likelihood} likelihood"
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
        "Least-squares conventions need --sigma; logistic (bernoulli) and Poisson ones do not. "
        "A strength converts only between conventions of the same likelihood."
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
    from bayes_reg.cache import enable_compilation_cache
    from bayes_reg.run.card import load_card
    from bayes_reg.run.page import write_outputs
    from bayes_reg.run.results_dir import check_out_dir
    from bayes_reg.run.stages import run_card

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
    import jax

    # Reports compare against exact results: float64 throughout, as in the tests.
    jax.config.update("jax_enable_x64", True)
    enable_compilation_cache()
    log = (lambda *a: None) if quiet else (lambda msg: print(f"[{card.path.stem}] {msg}"))
    result = run_card(card, only=only, seed=seed, progress=not quiet, log=log)
    return write_outputs(result, out)


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bayes-reg``; returns the exit code: 0 success, 2 bad input, 1 failure."""
    from bayes_reg.run.schema import CardError

    args = _parser().parse_args(argv)
    try:
        if args.command == "conventions":
            return _conventions()
        if args.command == "cards":
            return _cards()
        if args.command == "run":
            where = _run(args.card, args.out, seed=args.seed, only=args.only, quiet=args.quiet)
            print(f"report: {where / 'report.html'}")
            return 0
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
        print(f"bayes-reg {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as err:  # a failure, not bad input
        print(f"bayes-reg {args.command}: failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
