"""Approximate posteriors of a network against the posterior of the same network (NUTS).

:func:`approximations_vs_posterior` trains the dropout network and takes its MC-dropout
predictive, runs the other approximations a user names
(:func:`bayes_reg.nets.approximations.approximate`: deep ensembles, Laplace, mean-field VI,
SWAG), samples the Bayesian network whose prior the weight decay implies (same architecture,
same standardisation, the same fixed noise ``1 / tau``) and scores every predictive with
:func:`bayes_reg.predictive.predictive_metrics`. All are mixtures of Gaussians; where they add
the same noise, their differences are the spread of the function alone.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import xarray as xr
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.conventions import LENGTHSCALE, weight_decay_from_tau
from bayes_reg.inference.result import Posterior
from bayes_reg.inference.sampler import Sampler, as_sampler
from bayes_reg.nets.approximations import APPROXIMATIONS, METHODS, approximate
from bayes_reg.nets.bnn import bnn_posterior
from bayes_reg.nets.dropout import DropoutNet, MCDropout, mc_dropout, train_dropout
from bayes_reg.nets.target import Approximation, net_target
from bayes_reg.predictive import calibration, predictive_metrics

__all__ = [
    "Comparison",
    "DropoutComparison",
    "approximations_vs_posterior",
    "compare_predictives",
    "dropout_vs_posterior",
]


class Comparison(NamedTuple):
    """Everything :func:`approximations_vs_posterior` computed.

    ``approximations`` maps each method to its predictive (MC dropout's from ``net`` and
    ``mc``); ``metrics`` has dim ``source`` (the methods, then ``posterior``); ``by_input``
    dims ``source`` and ``test_obs``; ``calibration`` dims ``source`` and ``level``
    (:func:`compare_predictives`).
    """

    net: DropoutNet | None
    mc: MCDropout | None
    posterior: Posterior
    approximations: dict[str, Approximation]
    metrics: xr.Dataset
    by_input: xr.Dataset
    calibration: xr.Dataset


#: The name the comparison had when MC dropout was its only approximation.
DropoutComparison = Comparison


def compare_predictives(
    approximations: dict[str, Approximation], posterior: Approximation, y_test: ArrayLike
) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    """Score every approximation and the posterior on the test rows, and set each against
    the posterior point by point.

    Returns
    -------
    metrics : xarray.Dataset
        :func:`~bayes_reg.predictive.predictive_metrics` of each over dim ``source`` (the
        approximations, then ``posterior``), and how far each is from the posterior:
        ``mean_abs_log_sd_ratio`` and ``mean_abs_log_function_sd_ratio`` (mean over the test
        points of ``|log(sd / posterior's sd)|``; 0 for the posterior itself) and
        ``mean_shift_in_sd`` (mean ``|mean - posterior's mean|`` in posterior predictive sds).
    by_input : xarray.Dataset
        ``mean``, ``sd`` (predictive), ``function_sd`` and their ratios to the posterior's,
        ``sd_ratio`` and ``function_sd_ratio``, over (``source``, ``test_obs``).
    calibration : xarray.Dataset
        Observed coverage of each central interval over (``source``, ``level``).
    """
    y_test = np.asarray(y_test, float)
    sources = {**approximations, "posterior": posterior}
    names = list(sources)
    coord = xr.DataArray(names, dims="source")
    metrics = xr.concat(
        [predictive_metrics(a.draws, y_test, a.noise_sd) for a in sources.values()], dim=coord
    )
    cal = xr.concat(
        [calibration(a.draws, y_test, a.noise_sd)["observed"] for a in sources.values()],
        dim=coord,
    )
    mean = np.stack([a.draws.mean(0) for a in sources.values()])
    fsd = np.stack([a.draws.std(0) for a in sources.values()])
    noise_var = np.stack(
        [np.broadcast_to(np.square(a.noise_sd), a.draws.shape).mean(0) for a in sources.values()]
    )
    sd = np.sqrt(fsd**2 + noise_var)
    # A collapsed ensemble's function sd is 0: its ratio 0 and log ratio -inf, said as such.
    with np.errstate(divide="ignore", invalid="ignore"):
        sd_ratio, fsd_ratio = sd / sd[-1], fsd / fsd[-1]
        log_sd_ratio, log_fsd_ratio = np.abs(np.log(sd_ratio)), np.abs(np.log(fsd_ratio))
    by_input = xr.Dataset(
        {
            "mean": (("source", "test_obs"), mean),
            "sd": (("source", "test_obs"), sd),
            "function_sd": (("source", "test_obs"), fsd),
            "sd_ratio": (("source", "test_obs"), sd_ratio),
            "function_sd_ratio": (("source", "test_obs"), fsd_ratio),
        },
        coords={"source": names},
    )
    metrics["mean_abs_log_sd_ratio"] = ("source", log_sd_ratio.mean(1))
    metrics["mean_abs_log_function_sd_ratio"] = ("source", log_fsd_ratio.mean(1))
    metrics["mean_shift_in_sd"] = ("source", (np.abs(mean - mean[-1]) / sd[-1]).mean(1))
    return metrics, by_input, xr.Dataset({"observed": cal})


def approximations_vs_posterior(
    X: ArrayLike,
    y: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    methods=METHODS,
    dropout: float = 0.05,
    tau: float,
    lengthscale: float = LENGTHSCALE,
    hidden: tuple[int, ...] = (50,),
    epochs: int = 1000,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    passes: int = 1000,
    members: int = 5,
    vi_steps: int = 20_000,
    swag_epochs: int = 1000,
    sampler: Sampler | None = None,
    seed: int = 0,
    progress: bool = True,
) -> Comparison:
    """Approximate the posterior of one MLP every way ``methods`` name, sample it with NUTS,
    and score every predictive against the held-out rows and against the posterior.

    The network and its prior come from the dropout experiment's settings: the weight decay
    is :func:`~bayes_reg.nets.dropout.weight_decay_from_tau` of ``dropout``, ``tau`` and
    ``lengthscale``, and its Gaussian prior (:func:`~bayes_reg.nets.target.net_target`) is
    the posterior every method approximates.

    Parameters
    ----------
    X, y : arrays of shape (n_samples, n_features) and (n_samples,)
    X_test, y_test : arrays of shape (n_test, n_features) and (n_test,)
    methods : sequence of str
        Any of :data:`~bayes_reg.nets.approximations.METHODS`: ``"mc_dropout"`` and the
        approximations of :func:`~bayes_reg.nets.approximations.approximate`; default all.
    dropout, tau, lengthscale : float
        Dropout rate, model precision (units of ``y``) and prior length-scale.
    hidden, epochs, batch_size, learning_rate
        The network and its Adam training, with dropout for MC dropout and to the mode for
        the ensembles, Laplace and SWAG.
    passes : int
        MC-dropout passes, and draws of each sampled approximation.
    members : int
        Networks of each deep ensemble.
    vi_steps, swag_epochs : int
        Mean-field VI's optimisation steps; SWAG's SGD epochs.
    sampler : Sampler, optional
        NUTS's budget and settings (:func:`~bayes_reg.nets.bnn.bnn_posterior`); default
        ``Sampler(warmup=500, draws=500)``. Raise ``target_accept`` towards 1 when draws
        diverge.
    seed : int
        Seeds training, the MC passes, the approximations and the sampler.

    Returns
    -------
    Comparison
    """
    methods = tuple(methods)
    if not methods:
        raise ValueError(f"name at least one method of {', '.join(METHODS)}")
    for method in methods:
        _validate.one_of("method", method, METHODS)
    sampler = as_sampler(sampler, warmup=500, draws=500)
    X, y = _validate.design(X, y)
    tau = _validate.positive("tau", tau)
    weight_decay = weight_decay_from_tau(tau, dropout=dropout, n=len(y), lengthscale=lengthscale)
    approximations, net, mc = {}, None, None
    if "mc_dropout" in methods:
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
        start = time.perf_counter()
        mc = mc_dropout(net, X_test, passes=passes, seed=seed)
        seconds = net.seconds + time.perf_counter() - start
        approximations["mc_dropout"] = Approximation(
            mc.draws, mc.sigma, seconds, {"passes": passes, "rate": float(dropout)}
        )
    target = net_target(X, y, tau=tau, weight_decay=weight_decay, hidden=hidden)
    approximations |= approximate(
        target,
        X_test,
        [m for m in methods if m in APPROXIMATIONS],
        members=members,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        draws=passes,
        vi_steps=vi_steps,
        swag_epochs=swag_epochs,
        seed=seed,
        progress=progress,
    )
    posterior = bnn_posterior(
        X,
        y,
        X_test,
        tau=tau,
        weight_decay=weight_decay,
        hidden=hidden,
        sampler=sampler,
        seed=seed,
        progress=progress,
    )
    reference = Approximation(posterior.pooled("f"), 1.0 / np.sqrt(tau), posterior.seconds, {})
    metrics, by_input, cal = compare_predictives(approximations, reference, y_test)
    return Comparison(net, mc, posterior, approximations, metrics, by_input, cal)


def dropout_vs_posterior(X, y, X_test, y_test, **kwargs) -> Comparison:
    """MC dropout alone against the posterior of the same network:
    :func:`approximations_vs_posterior` with ``methods=("mc_dropout",)``."""
    return approximations_vs_posterior(X, y, X_test, y_test, methods=("mc_dropout",), **kwargs)
