"""The ``dropout`` stage: MC dropout against the posterior of the same network; its tree,
summary entries, figures and report section."""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from bayes_reg import figures, workflow
from bayes_reg.data import toy_gap_truth
from bayes_reg.inference.diagnostics import ESS_MIN, RHAT_MAX
from bayes_reg.nets.compare_dropout import dropout_vs_posterior
from bayes_reg.run.card import Card
from bayes_reg.run.sections import dropout_section
from bayes_reg.run.summary import diagnostics_json, spread
from bayes_reg.run.workflow_stage import loo_section

__all__ = ["dropout_stage"]


def dropout_stage(card: Card, data, seed: int, progress: bool, log, result, timings) -> None:
    """MC dropout against the Bayesian MLP: the tree, the summary, the figures, the section."""

    cfg, budget = card.dropout, card.posterior
    log(
        f"dropout: rate {cfg['rate']:g}, tau {cfg['tau']:g}, hidden {cfg['hidden']}, "
        f"{cfg['epochs']} epochs, {cfg['passes']} MC passes; NUTS {budget['chains']} chains x "
        f"({budget['warmup']} + {budget['draws']})"
    )
    start = time.perf_counter()
    cmp = dropout_vs_posterior(
        data.X,
        data.y,
        data.X_test,
        data.y_test,
        dropout=cfg["rate"],
        tau=cfg["tau"],
        lengthscale=cfg["lengthscale"],
        hidden=tuple(cfg["hidden"]),
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        passes=cfg["passes"],
        sampler=card.sampler,
        seed=seed,
        progress=progress,
    )
    total = time.perf_counter() - start
    timings |= {
        "dropout_training": cmp.net.seconds,
        "bnn_nuts": cmp.posterior.seconds,
        "mc_dropout_and_scores": total - cmp.net.seconds - cmp.posterior.seconds,
        "dropout": total,
    }
    settings = _dropout_settings(cmp, cfg, len(data.y))
    result.tree = _dropout_tree(cmp, data, settings)
    d = cmp.posterior.diagnostics
    fsd, psd = cmp.by_input["function_sd_ratio"].values, cmp.by_input["sd_ratio"].values
    result.summary["dropout"] = {
        "settings": settings,
        "metrics": {
            str(source): {k: float(v) for k, v in cmp.metrics.sel(source=source).items()}
            for source in cmp.metrics.source.values
        },
        "sd_ratio": {
            "function": spread(fsd),
            "predictive": spread(psd),
            "share_function_below_1": float(np.mean(fsd < 1)),
        },
        "training": {
            "final_loss": float(cmp.net.loss[-1]),
            "seconds": cmp.net.seconds,
        },
        "bnn": {
            "chains": budget["chains"],
            "warmup": budget["warmup"],
            "draws": budget["draws"],
            "seconds": cmp.posterior.seconds,
            "diagnostics_of": "f (the function at the test points)",
            "diagnostics": diagnostics_json(d),
            "converged": bool(_bnn_converged(d)),
        },
    }
    truth = _toy_truth(card)
    if data.X.shape[1] == 1:
        result.figures["predictive_bands"] = figures.plot_predictive_bands(
            cmp.by_input, data.X_test, data.X, data.y, truth=truth
        )
    result.figures["sd_ratio"] = figures.plot_sd_ratio(cmp.by_input, data.X_test, data.X)
    n_test = result.tree["posterior"].sizes["test_obs"]
    shown = sorted({int(i) for i in np.linspace(0, n_test - 1, 4)})
    result.figures["rank_f"] = figures.plot_rank(
        result.tree,
        ["f"],
        {"test_obs": shown},
        title=f"Rank plots of each chain's draws of f at test points {shown}",
        compact=False,
    )
    result.sections.append(dropout_section(result.summary["dropout"], data, truth is not None))
    loo, numbers = workflow.loo_summary(result.tree)
    result.summary["dropout"]["bnn"]["loo"] = numbers
    result.figures["pareto_k"] = workflow.plot_khat(loo)
    result.sections.append(loo_section(numbers, pit=False))


def _dropout_settings(cmp, cfg: dict, n: int) -> dict:
    attrs = cmp.posterior.tree.attrs
    return {
        "rate": cfg["rate"],
        "tau": cmp.net.tau,
        "noise_sd": 1.0 / np.sqrt(cmp.net.tau),
        "lengthscale": cfg["lengthscale"],
        "weight_decay": cmp.net.weight_decay,
        "weight_decay_formula": "lengthscale^2 (1 - rate) / (2 n_train tau), Keras convention",
        "prior_sd_standardised": float(attrs["prior_scale_standardised"]),
        "noise_sd_standardised": float(attrs["sigma_standardised"]),
        "y_mean": cmp.net.scaling.y_mean,
        "y_sd": cmp.net.scaling.y_sd,
        "n_train": n,
        "hidden": list(cfg["hidden"]),
        "epochs": cfg["epochs"],
        "batch_size": cfg["batch_size"],
        "learning_rate": cfg["learning_rate"],
        "passes": cfg["passes"],
    }


def _dropout_tree(cmp, data, settings: dict) -> xr.DataTree:
    """The file's layout for a dropout card: the Bayesian MLP's posterior under ArviZ's own
    group names, the MC-dropout draws beside it with the same ``f`` and ``test_obs``."""
    bnn = cmp.posterior.tree
    n_test = len(data.y_test)
    test_obs = np.arange(n_test)
    tree = xr.DataTree()
    tree["posterior"] = bnn["posterior"].to_dataset()
    tree["sample_stats"] = bnn["sample_stats"].to_dataset()
    tree["log_likelihood"] = (
        bnn["log_likelihood"].to_dataset().assign_coords(obs=np.arange(len(data.y)))
    )
    tree["observed_data"] = xr.Dataset(
        {"y": ("obs", data.y)}, coords={"obs": np.arange(len(data.y))}
    )
    tree["constant_data"] = xr.Dataset(
        {
            "X": (("obs", "feature"), data.X),
            "X_test": (("test_obs", "feature"), data.X_test),
            "y_test": ("test_obs", data.y_test),
        },
        coords={
            "obs": np.arange(len(data.y)),
            "test_obs": test_obs,
            "feature": list(data.feature_names),
        },
    )
    attrs = {k: v for k, v in settings.items() if isinstance(v, int | float | str)}
    mc = xr.Dataset(
        {"f": (("pass", "test_obs"), cmp.mc.draws)},
        coords={"pass": np.arange(cmp.mc.draws.shape[0]), "test_obs": test_obs},
        attrs=attrs | {"hidden": np.asarray(settings["hidden"])},
    )
    mc["f"].attrs["description"] = (
        "MC-dropout passes: the network with dropout on, in the units of y; the predictive "
        "of each test point is the mixture over passes of N(f, 1 / tau)"
    )
    tree["mc_dropout"] = mc
    net = cmp.net
    layers = {}
    for i, layer in enumerate(net.params):
        layers[f"w{i}"] = ((f"in{i}", f"out{i}"), np.asarray(layer.w))
        layers[f"b{i}"] = ((f"out{i}",), np.asarray(layer.b))
    tree["dropout_net"] = xr.Dataset(
        {"loss": ("epoch", np.asarray(net.loss, float))} | layers,
        coords={"epoch": np.arange(1, len(net.loss) + 1)},
        attrs={
            "description": "the trained dropout network: weights act on standardised inputs "
            "and predict the standardised target; loss is each epoch's mean minibatch objective",
            "x_mean": np.asarray(net.scaling.x_mean, float),
            "x_sd": np.asarray(net.scaling.x_sd, float),
            "y_mean": net.scaling.y_mean,
            "y_sd": net.scaling.y_sd,
            "seconds": net.seconds,
        },
    )
    tree["metrics"] = cmp.metrics
    tree["by_input"] = cmp.by_input.assign_coords(test_obs=test_obs)
    tree.attrs.update(bnn.attrs)
    tree.attrs["design"] = data.design.to_json()  # so `bayes-reg predict` reads new rows
    tree.attrs["model"] = (
        f"Bayesian MLP {tuple(settings['hidden'])} (ReLU) with the Gaussian prior the dropout "
        "network's weight decay implies, noise fixed at 1 / tau; groups posterior and "
        "sample_stats are its NUTS run, mc_dropout the dropout network's passes"
    )
    return tree


def _bnn_converged(d) -> bool:
    """The chains agree on the function: R-hat, ESS and divergences (tree-depth hits make
    sampling slow, not wrong)."""

    return (
        d.max_rhat <= RHAT_MAX
        and min(d.min_ess_bulk, d.min_ess_tail) >= ESS_MIN
        and d.divergences == 0
    )


def _toy_truth(card: Card):
    if card.data["source"] != "toy-gap":
        return None

    c = card.data.get("scale_y", 1.0)
    return lambda x: c * toy_gap_truth(x)
