"""MC dropout against the posterior of the same network, on the same test points.

:func:`dropout_vs_posterior` trains the dropout network, takes its MC-dropout predictive,
samples the Bayesian network whose prior the weight decay implies (same architecture, same
standardisation, the same fixed noise ``1 / tau``) and scores both predictives with
:func:`bayes_reg.predictive.predictive_metrics`. Both are mixtures of Gaussians with the
same noise, so their difference is the spread of the function alone.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr
from jax.typing import ArrayLike

from bayes_reg.conventions import LENGTHSCALE
from bayes_reg.inference.result import Posterior
from bayes_reg.inference.sampler import Sampler, as_sampler
from bayes_reg.nets.bnn import bnn_posterior
from bayes_reg.nets.dropout import DropoutNet, MCDropout, mc_dropout, train_dropout
from bayes_reg.predictive import predictive_metrics

__all__ = ["METHODS", "DropoutComparison", "compare_predictives", "dropout_vs_posterior"]

METHODS = ("mc_dropout", "posterior")


class DropoutComparison(NamedTuple):
    """Everything :func:`dropout_vs_posterior` computed.

    ``metrics`` has dim ``source`` (``mc_dropout``, ``posterior``); ``by_input`` has dims
    ``source`` and ``test_obs`` (predictive mean and sd, function sd) and the ratios of
    MC-dropout sd to posterior sd per test point.
    """

    net: DropoutNet
    mc: MCDropout
    posterior: Posterior
    metrics: xr.Dataset
    by_input: xr.Dataset


def compare_predictives(
    mc: MCDropout, posterior_draws, y_test: ArrayLike
) -> tuple[xr.Dataset, xr.Dataset]:
    """Score MC dropout and posterior draws (both (draws, n_test), same noise ``mc.sigma``).

    Returns
    -------
    metrics : xarray.Dataset
        :func:`~bayes_reg.predictive.predictive_metrics` of each, over dim ``source``.
    by_input : xarray.Dataset
        ``mean``, ``sd`` (predictive) and ``function_sd`` over (``source``, ``test_obs``);
        ``sd_ratio`` and ``function_sd_ratio`` (MC dropout / posterior) over ``test_obs``.
    """
    y_test = np.asarray(y_test, float)
    draws = {"mc_dropout": mc.draws, "posterior": np.asarray(posterior_draws, float)}
    metrics = xr.concat(
        [predictive_metrics(draws[m], y_test, mc.sigma) for m in METHODS],
        dim=xr.DataArray(list(METHODS), dims="source"),
    )
    metrics.attrs["noise_sd"] = mc.sigma
    fsd = np.stack([draws[m].std(0) for m in METHODS])
    sd = np.sqrt(fsd**2 + mc.sigma**2)
    by_input = xr.Dataset(
        {
            "mean": (("source", "test_obs"), np.stack([draws[m].mean(0) for m in METHODS])),
            "sd": (("source", "test_obs"), sd),
            "function_sd": (("source", "test_obs"), fsd),
            "sd_ratio": ("test_obs", sd[0] / sd[1]),
            "function_sd_ratio": ("test_obs", fsd[0] / fsd[1]),
        },
        coords={"source": list(METHODS)},
    )
    return metrics, by_input


def dropout_vs_posterior(
    X: ArrayLike,
    y: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    dropout: float = 0.05,
    tau: float,
    lengthscale: float = LENGTHSCALE,
    hidden: tuple[int, ...] = (50,),
    epochs: int = 1000,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    passes: int = 1000,
    sampler: Sampler | None = None,
    seed: int = 0,
    progress: bool = True,
) -> DropoutComparison:
    """Train a dropout MLP, then compare its MC-dropout predictive with NUTS's posterior.

    Parameters
    ----------
    X, y : arrays of shape (n_samples, n_features) and (n_samples,)
    X_test, y_test : arrays of shape (n_test, n_features) and (n_test,)
    dropout, tau, lengthscale : float
        Dropout rate, model precision (units of ``y``) and prior length-scale; the weight
        decay is :func:`~bayes_reg.nets.dropout.weight_decay_from_tau` of them.
    hidden, epochs, batch_size, learning_rate
        The network and its Adam training (:func:`~bayes_reg.nets.dropout.train_dropout`).
    passes : int
        MC-dropout passes.
    sampler : Sampler, optional
        NUTS's budget and settings (:func:`~bayes_reg.nets.bnn.bnn_posterior`); default
        ``Sampler(warmup=500, draws=500)``. Raise ``target_accept`` towards 1 when draws
        diverge.
    seed : int
        Seeds training, the MC passes and the sampler.

    Returns
    -------
    DropoutComparison
    """
    sampler = as_sampler(sampler, warmup=500, draws=500)
    net = train_dropout(
        X,
        y,
        dropout=dropout,
        tau=tau,
        lengthscale=lengthscale,
        hidden=hidden,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        progress=progress,
    )
    mc = mc_dropout(net, X_test, passes=passes, seed=seed)
    posterior = bnn_posterior(
        X,
        y,
        X_test,
        tau=net.tau,
        weight_decay=net.weight_decay,
        hidden=hidden,
        sampler=sampler,
        seed=seed,
        progress=progress,
    )
    metrics, by_input = compare_predictives(mc, posterior.pooled("f"), y_test)
    return DropoutComparison(net, mc, posterior, metrics, by_input)
