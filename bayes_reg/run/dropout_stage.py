"""The ``dropout`` stage: approximate posteriors of a network (MC dropout, deep ensembles,
Laplace, mean-field VI, SWAG) against NUTS's posterior of the same network; its tree,
summary entries, figures and report sections."""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

from bayes_reg import figures, net_figures, workflow
from bayes_reg.data import toy_gap_truth
from bayes_reg.inference.diagnostics import ESS_MIN, RHAT_MAX
from bayes_reg.nets.approximations import LABELS
from bayes_reg.nets.compare_dropout import approximations_vs_posterior
from bayes_reg.run.card import Card
from bayes_reg.run.network_sections import approximations_section
from bayes_reg.run.network_tree import network_tree
from bayes_reg.run.summary import diagnostics_json, spread
from bayes_reg.run.workflow_stage import loo_section

__all__ = ["dropout_stage"]


def dropout_stage(card: Card, data, seed: int, progress: bool, log, result, timings) -> None:
    """The approximations against the Bayesian MLP: the tree, the summary, the figures, the
    sections."""

    cfg, budget = card.dropout, card.posterior
    log(
        f"dropout: rate {cfg['rate']:g}, tau {cfg['tau']:g}, hidden {cfg['hidden']}, "
        f"{cfg['epochs']} epochs; methods {', '.join(cfg['methods'])}; NUTS "
        f"{budget['chains']} chains x ({budget['warmup']} + {budget['draws']})"
    )
    start = time.perf_counter()
    cmp = approximations_vs_posterior(
        data.X,
        data.y,
        data.X_test,
        data.y_test,
        methods=cfg["methods"],
        dropout=cfg["rate"],
        tau=cfg["tau"],
        lengthscale=cfg["lengthscale"],
        hidden=tuple(cfg["hidden"]),
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        passes=cfg["passes"],
        members=cfg["members"],
        vi_steps=cfg["vi_steps"],
        swag_epochs=cfg["swag_epochs"],
        sampler=card.sampler,
        seed=seed,
        progress=progress,
    )
    timings |= {f"{m}": a.seconds for m, a in cmp.approximations.items()}
    timings |= {"bnn_nuts": cmp.posterior.seconds, "dropout": time.perf_counter() - start}
    if cmp.net is not None:
        timings["dropout_training"] = cmp.net.seconds
    settings = _dropout_settings(cmp, cfg, len(data.y))
    result.tree = network_tree(cmp, data, settings)
    d = cmp.posterior.diagnostics
    by_input = cmp.by_input
    result.summary["dropout"] = {
        "settings": settings,
        "metrics": {
            str(source): {k: float(v) for k, v in cmp.metrics.sel(source=source).items()}
            for source in cmp.metrics.source.values
        },
        "ranking": _ranking(cmp.metrics),
        "sd_ratio": {
            method: {
                "function": spread(by_input["function_sd_ratio"].sel(source=method)),
                "predictive": spread(by_input["sd_ratio"].sel(source=method)),
                "share_function_below_1": float(
                    np.mean(by_input["function_sd_ratio"].sel(source=method) < 1)
                ),
            }
            for method in cmp.approximations
        },
        "approximations": {
            method: {"label": LABELS[method], "seconds": a.seconds}
            | {k: v for k, v in a.info.items() if not isinstance(v, list)}
            for method, a in cmp.approximations.items()
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
    if cmp.net is not None:
        result.summary["dropout"]["training"] = {
            "final_loss": float(cmp.net.loss[-1]),
            "seconds": cmp.net.seconds,
        }
    truth = _toy_truth(card)
    if data.X.shape[1] == 1:
        result.figures["predictive_bands"] = net_figures.plot_predictive_bands(
            by_input, data.X_test, data.X, data.y, truth=truth
        )
    result.figures["sd_ratio"] = net_figures.plot_sd_ratio(by_input, data.X_test, data.X)
    result.figures["calibration"] = net_figures.plot_calibration(cmp.calibration, cmp.metrics)
    n_test = result.tree["posterior"].sizes["test_obs"]
    shown = sorted({int(i) for i in np.linspace(0, n_test - 1, 4)})
    rank = figures.plot_rank(
        result.tree,
        ["f"],
        {"test_obs": shown},
        title=f"Rank plots of each chain's draws of f at test points {shown}",
        compact=False,
    )
    if rank is not None:  # one chain has none
        result.figures["rank_f"] = rank
    summary = result.summary["dropout"]
    result.sections.append(approximations_section(summary, data, truth is not None))
    loo, numbers = workflow.loo_summary(result.tree)
    summary["bnn"]["loo"] = numbers
    result.figures["pareto_k"] = workflow.plot_khat(loo)
    result.sections.append(loo_section(numbers, pit=False))


def _ranking(metrics: xr.Dataset) -> list[str]:
    """The approximations, closest to the posterior first: by the mean absolute log ratio of
    their function sd to the posterior's over the test points."""
    closeness = metrics["mean_abs_log_function_sd_ratio"].drop_sel(source="posterior")
    order = np.argsort(np.nan_to_num(closeness.values, nan=np.inf), kind="stable")
    return [str(closeness.source.values[i]) for i in order]


def _dropout_settings(cmp, cfg: dict, n: int) -> dict:
    attrs = cmp.posterior.tree.attrs
    return {
        "rate": cfg["rate"],
        "tau": float(attrs["tau"]),
        "noise_sd": 1.0 / np.sqrt(attrs["tau"]),
        "lengthscale": cfg["lengthscale"],
        "weight_decay": float(attrs["weight_decay"]),
        "weight_decay_formula": "lengthscale^2 (1 - rate) / (2 n_train tau), Keras convention",
        "prior_sd_standardised": float(attrs["prior_scale_standardised"]),
        "noise_sd_standardised": float(attrs["sigma_standardised"]),
        "y_mean": float(attrs["y_mean"]),
        "y_sd": float(attrs["y_sd"]),
        "n_train": n,
        "hidden": list(cfg["hidden"]),
        "epochs": cfg["epochs"],
        "batch_size": cfg["batch_size"],
        "learning_rate": cfg["learning_rate"],
        "passes": cfg["passes"],
        "methods": list(cmp.approximations),
        "members": cfg["members"],
        "vi_steps": cfg["vi_steps"],
        "swag_epochs": cfg["swag_epochs"],
    }


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
