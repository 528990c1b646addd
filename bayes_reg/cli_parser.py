"""The ``bayes-reg`` command line's arguments: every command, option and example.

Kept apart from :mod:`bayes_reg.cli` (which runs the commands) so that each stays one job; it
imports nothing that computes, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse

from bayes_reg import conventions
from bayes_reg.fanout import ENGINES

__all__ = ["EPILOG", "parser"]

EPILOG = """\
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
  bayes-reg sweep diabetes-lasso --seeds 0 1 2 --set prior.strength=0.1,1,10 --out sweeps/lasso
      nine runs of a card, in parallel (Ray, or local processes), merged in sweeps/lasso/sweep.nc
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


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-reg",
        description="A penalty is a prior. Run model cards that set penalised fits (ridge, "
        "lasso, weight decay) and MC dropout beside the posterior of the prior they encode, "
        "and convert penalty strengths between frameworks exactly. Start with "
        "`bayes-reg demo`.",
        epilog=EPILOG,
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
        epilog=EPILOG,
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

    sweep = sub.add_parser(
        "sweep",
        help="run a card over seeds, splits and settings, in parallel (Ray or local processes)",
        description="Run a model card once per combination of --seeds, --splits and each "
        "--set, each combination one task: on a local Ray instance over this machine's cores, "
        "on the Ray cluster at --address, or (without Ray) in local processes. Each result is "
        "written as `run` writes it into OUT/COMBINATION (e.g. OUT/seed=0,prior.strength=0.1); "
        "OUT/sweep.nc and OUT/sweep.csv hold every number of their summary.json over the "
        "sweep's dims, and OUT/bayes-reg-sweep.json what became of each. A rerun skips the "
        "combinations already finished; a failed one is reported by name and the others kept "
        "(exit code 1).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("card", help="path to a card (.toml), or the name of a shipped card")
    sweep.add_argument(
        "--out",
        required=True,
        help="the sweep's folder: new, empty, or an earlier sweep of the same card (resumed)",
    )
    sweep.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="the card's seed")
    sweep.add_argument(
        "--splits",
        nargs="+",
        metavar="K|A-B",
        help="[data] split of a uci: card, e.g. 0-19 (the set's train/test splits)",
    )
    sweep.add_argument(
        "--set",
        action="append",
        default=[],
        dest="settings",
        metavar="KEY=V1,V2,...",
        help="a card key and its values, one dim of the grid: e.g. prior.strength=0.1,1,10 "
        "or dropout.rate=0.005,0.05 (repeat --set for more dims)",
    )
    sweep.add_argument(
        "--only", nargs="+", metavar="STAGE", help="run only these stages (as in `run`)"
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress output")
    sweep.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="a running Ray cluster (`ray start --head` prints it); default a local Ray "
        "instance, or local processes without Ray",
    )
    sweep.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="ray, local processes, or auto: Ray where it is installed (default)",
    )
    sweep.add_argument(
        "--cpus-per-task",
        type=int,
        default=1,
        help="cores (JAX CPU devices) per combination (default: %(default)s)",
    )

    pred = sub.add_parser(
        "predict",
        help="predict new rows from a result of `bayes-reg run`",
        description="The posterior predictive of a linear card's result at the rows of a CSV "
        "file with the columns the card's data had (its formula's inputs, and its exposure or "
        "trials column; categories and standardising are applied as in the fit). Writes one "
        "row per input row: the card's id column if it names one (else the line number), "
        "mean, sd, lower, upper (and probability for a binary outcome, of success for a "
        "binomial or beta-binomial one).",
        epilog=EPILOG,
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
        epilog=EPILOG,
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
        "Exact for linear regression with Gaussian noise of scale --sigma on --n rows, for the "
        "gamma GLM of coefficient of variation --sigma, and for the logistic and Poisson GLM "
        "conventions, which take no --sigma; --to must have the same likelihood as --from.",
        epilog=EPILOG,
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
        help="noise scale of a least-squares convention, in the units of y, or the coefficient "
        "of variation (sd / mean) of a gamma one (required there; left out for a logistic or "
        "Poisson convention)",
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
