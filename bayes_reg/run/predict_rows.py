"""``bayes-reg predict``: the predictive of a saved result at the rows of a CSV file.

The result's ``posterior.nc`` carries its design (the formula, the categories, the
standardising: :class:`~bayes_reg.design.Design`), so new rows in the original columns become
the fitted columns exactly as the training rows did; a column that is missing, a category
the fit never saw or a missing value is refused with its name and line. A linear card's
result predicts through its posterior draws; a dropout card's through either of its two views
of the network: the posterior (NUTS's draws of the weights) or MC dropout (the trained network
with dropout on), each a mixture of ``N(f, 1 / tau)``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from bayes_reg.data import Scaling
from bayes_reg.design import Design
from bayes_reg.linear.fit import prediction_table
from bayes_reg.linear.predict import predict
from bayes_reg.nets.bnn import bnn_predict
from bayes_reg.nets.dropout import DropoutNet, mc_dropout
from bayes_reg.nets.mlp import Layer
from bayes_reg.predictive import predictive_summary
from bayes_reg.run.results_dir import MANIFEST
from bayes_reg.run.schema import CardError
from bayes_reg.run.sources import read_csv

__all__ = ["predict_csv", "VIEWS"]

#: The two views of a dropout card's network that ``--view`` chooses between.
VIEWS = ("posterior", "mc_dropout")


def predict_csv(
    results: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    coverage: float = 0.9,
    seed: int = 0,
    view: str = "posterior",
) -> Path:
    """Write one row per row of ``data``: the id column (if the card names one), ``mean``,
    ``sd``, ``lower``, ``upper`` (and ``probability`` for a binary outcome) into ``out``,
    a new file (an existing one is never overwritten). ``view`` chooses a dropout card's
    ``"posterior"`` or ``"mc_dropout"`` predictive."""
    import xarray as xr

    results, data, out = Path(results), Path(data), Path(out)
    if not (results / MANIFEST).is_file() or not (results / "posterior.nc").is_file():
        raise CardError(
            f"{results} is not a result of `bayes-reg run` (no {MANIFEST} and posterior.nc)"
        )
    if not data.is_file():
        raise CardError(f"--data {data} does not exist")
    if out.exists():
        raise CardError(f"--out {out} exists; name a new file (bayes-reg never overwrites one)")
    if view not in VIEWS:
        raise CardError(f"--view must be one of {', '.join(VIEWS)}, got {view!r}")
    tree = xr.open_datatree(results / "posterior.nc", engine="h5netcdf")
    if "design" not in tree.attrs:
        raise CardError(
            f"{results} holds no design to read new rows with (a result written before "
            "predictions existed: run the card again)"
        )
    design = Design.from_json(tree.attrs["design"])
    dropout = "sigma_standardised" in tree.attrs  # the Bayesian MLP's posterior
    if view != "posterior" and not dropout:
        raise CardError(f"--view {view} needs a dropout card's result; {results} is a linear one")
    if view == "mc_dropout" and "dropout_net" not in tree.children:
        raise CardError(
            f"--view mc_dropout: {results} ran no MC dropout (its card's methods leave it out)"
        )
    frame = read_csv(data)
    try:
        X = design.matrix(frame)
        if dropout:
            prediction = _network(tree, X, view, coverage, seed)
        else:
            prediction = predict(
                tree,
                X,
                offset=design.offset(frame),
                trials=design.number_of_trials(frame),
                coverage=coverage,
                seed=seed,
            )
    except ValueError as err:
        raise CardError(f"--data {data.name}: {err}") from None
    table = prediction_table(prediction, frame, design)
    if design.id is None:
        table.index = table.index.rename("line")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, suffix=".tmp", delete=False) as f:
        table.to_csv(f)
    try:
        os.link(f.name, out)  # fails if out appeared meanwhile: never replaces a file
    finally:
        os.unlink(f.name)
    return out


def _network(tree, X, view: str, coverage: float, seed: int):
    """A dropout card's predictive at ``X``: NUTS's function draws or MC-dropout passes, each
    a mixture of ``N(f, 1 / tau)``."""
    tau = float(tree.attrs["tau"])
    if view == "posterior":
        f = bnn_predict(tree, X)
        draws = f.reshape(-1, f.shape[-1])
    else:
        group = tree["dropout_net"]
        layers = sum(1 for name in group.data_vars if name.startswith("w"))
        params = tuple(Layer(group[f"w{i}"].values, group[f"b{i}"].values) for i in range(layers))
        attrs = group.attrs
        scaling = Scaling(
            np.atleast_1d(attrs["x_mean"]),
            np.atleast_1d(attrs["x_sd"]),
            attrs["y_mean"],
            attrs["y_sd"],
        )
        mc = tree["mc_dropout"].attrs
        net = DropoutNet(
            params, float(mc["rate"]), tau, float(mc["weight_decay"]), scaling, None, 0.0
        )
        draws = mc_dropout(net, X, passes=int(mc["passes"]), seed=seed).draws
    return predictive_summary(draws, 1.0 / np.sqrt(tau), coverage=coverage)
