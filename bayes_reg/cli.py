"""The ``bayes-reg`` command line.

Exit codes: 0 success, 2 bad input (the message names the field and the rule), 1 failure.
"""

from __future__ import annotations

import argparse
import json
import sys

from bayes_reg import _validate, conventions
from bayes_reg.priors import ElasticNet

_EPILOG = """\
examples:
  bayes-reg conventions
      the table of penalty conventions and the objective each minimises
  bayes-reg convert --from d2l --strength 3 --n 20 --sigma 0.01 --to sklearn-ridge
      the d2l chapter's lambd=3 as a Ridge alpha (and the prior both encode)
  bayes-reg convert --from sklearn-lasso --strength 0.05 --n 442 --sigma 54 --to prior --json
"""


class _InputError(Exception):
    """Bad input from the command line; reported with exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-reg",
        description="A penalty is a prior: convert penalty strengths between frameworks "
        "through the prior they encode.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("conventions", help="list the penalty conventions with their objectives")

    conv = sub.add_parser(
        "convert",
        help="convert a penalty strength to a prior or to another convention",
        description="Convert a penalty strength of one framework into the prior it encodes "
        "(MAP = penalised fit) and, with --to CONVENTION, into that framework's strength. "
        "Exact for linear regression with Gaussian noise of scale --sigma on --n rows.",
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
        required=True,
        type=float,
        help="noise scale of the likelihood, in the units of y",
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
        out = {
            "from": {"convention": args.source, "strength": args.strength},
            "n": n,
            "sigma": args.sigma,
            "prior": _prior_dict(prior),
        }
        if args.to != "prior":
            penalty = conventions.to_penalty(args.to, prior, n=n, sigma=args.sigma)
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
    print(f"{args.source} strength {args.strength:g} (n = {n}, sigma = {args.sigma:g})")
    print(f"  is the MAP of a {prior.family} prior on w with {scales}")
    if "strength" in out:
        extra = f", l1_ratio = {out['l1_ratio']:.6g}" if "l1_ratio" in out else ""
        print(f"  = {args.to} strength {out['strength']:.6g}{extra}")
    return 0


def _conventions() -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title="Penalty conventions (r = y - Xw - b; the intercept b is never penalised)",
        show_lines=True,
    )
    for column in ("name", "framework", "objective minimised", "priors", "bias"):
        table.add_column(column, overflow="fold")
    for c in conventions.CONVENTIONS.values():
        table.add_row(c.name, c.framework, c.objective, ", ".join(c.families), c.bias)
    console = Console(width=max(Console().width, 140))
    console.print(table)
    console.print("AdamW (decoupled weight decay) is refused: " + conventions.ADAMW_NOTE)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bayes-reg``; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "conventions":
            return _conventions()
        return _convert(args)
    except _InputError as err:
        print(f"bayes-reg {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
