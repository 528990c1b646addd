"""Predictions for new rows from a linear model's posterior, and scores of held-out rows.

:func:`predict` pushes every posterior draw through the model at new inputs: the linear
predictor ``eta``, the mean response ``mu`` (``eta``; ``logit⁻¹(eta)``, the probability of
class 1; ``trials logit⁻¹(eta)``, the expected successes of a binomial or beta-binomial;
``exp(eta)``, the rate) and one predictive draw ``y`` each; then the predictive's mean, sd and
central interval per row.
:func:`score` rates those predictions against the rows' outcomes: RMSE, log score, CRPS and
interval coverage, or accuracy, Brier score and log loss for a binary outcome.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.scipy.special import logsumexp
from scipy.special import expit

from bayes_reg import _validate
from bayes_reg.linear.distributions import observation
from bayes_reg.linear.names import WITH_NOISE, WITH_TRIALS

__all__ = ["predict", "score", "model_attrs"]


def model_attrs(likelihood: str = "gaussian", df: float = 4.0, sigma=None) -> dict:
    """What :func:`predict` needs of the model besides the draws, as a tree's attributes:
    the likelihood, the Student-t's degrees of freedom and a known noise scale."""
    attrs = {"likelihood": likelihood}
    if likelihood == "student-t":
        attrs["df"] = float(df)
    if sigma is not None and sigma.known:
        attrs["known_sigma"] = float(sigma.sigma)
    return attrs


def predict(
    posterior,
    X,
    *,
    offset=None,
    trials=None,
    coverage: float = 0.9,
    seed: int | jax.Array = 0,
) -> xr.Dataset:
    """The posterior predictive at new rows ``X``.

    Parameters
    ----------
    posterior : DataTree or Posterior
        A linear model's posterior (:func:`~bayes_reg.linear.posterior.sample_posterior`, a
        card's ``posterior.nc``): draws of ``w``, ``b`` and ``sigma`` where they exist.
    X : array of shape (n_rows, n_features)
        New rows in the columns the model was fitted on (after any formula and standardising:
        :meth:`bayes_reg.design.Design.matrix` makes them from a table).
    offset : array of shape (n_rows,), optional
        Added to the linear predictor (the log exposure of a Poisson rate).
    trials : array of shape (n_rows,) or int
        The new rows' numbers of trials, for a binomial or beta-binomial model (and only for
        them).
    coverage : float
        The central interval's probability, in (0, 1).
    seed : int or JAX key
        Seeds the predictive draws.

    Returns
    -------
    xarray.Dataset
        Per draw (dims ``chain``, ``draw``, ``obs``): ``eta``, ``mu`` and ``y``; per row:
        ``mean`` (the mean of ``y``: of ``mu`` over the draws), ``sd`` (the predictive sd, by
        the law of total variance), ``lower`` and ``upper`` (the central ``coverage``
        interval of ``y``'s draws), ``mu_lower`` and ``mu_upper`` (that of the mean
        response); ``probability`` of class 1 for a Bernoulli model (of success for a
        binomial or beta-binomial one: the mean of ``logit⁻¹(eta)``, beside the rows'
        ``trials``); ``sigma`` per draw where the model has a noise scale.
    """
    tree = getattr(posterior, "tree", posterior)
    coverage = _validate.fraction("coverage", coverage, low_open=True, high_open=True)
    post = tree["posterior"]
    attrs = tree.attrs
    likelihood = attrs.get("likelihood", "gaussian")
    w = post["w"].values
    X = _validate.inputs(X, w.shape[-1])
    chains, draws = w.shape[:2]
    eta = np.einsum("cdf,nf->cdn", w, X)
    if "b" in post:
        eta = eta + post["b"].values[..., None]
    if offset is not None:
        eta = eta + np.broadcast_to(np.asarray(offset, float), (X.shape[0],))
    trials = _trials(likelihood, trials, X.shape[0])
    sigma = None
    if likelihood in WITH_NOISE:
        sigma = (
            post["sigma"].values
            if "sigma" in post
            else np.full((chains, draws), attrs["known_sigma"])
        )
    df = float(attrs.get("df", 4.0))
    key = _validate.key(seed)
    y, mu, spread = map(np.asarray, _outcome(likelihood, eta, sigma, df, key, trials))
    q = (1 - coverage) / 2
    dims = ("chain", "draw", "obs")
    out = xr.Dataset(
        {
            "eta": (dims, eta),
            "mu": (dims, mu),
            "y": (dims, y),
            "mean": ("obs", mu.mean((0, 1))),
            "sd": ("obs", np.sqrt(mu.var((0, 1)) + spread.mean((0, 1)))),
            "lower": ("obs", np.quantile(y, q, axis=(0, 1))),
            "upper": ("obs", np.quantile(y, 1 - q, axis=(0, 1))),
            "mu_lower": ("obs", np.quantile(mu, q, axis=(0, 1))),
            "mu_upper": ("obs", np.quantile(mu, 1 - q, axis=(0, 1))),
        },
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "obs": np.arange(len(X))},
        attrs={"coverage": coverage, "likelihood": likelihood, "df": df},
    )
    if likelihood == "bernoulli":
        out["probability"] = out["mean"]
    if likelihood in WITH_TRIALS:
        out["probability"] = ("obs", expit(eta).mean((0, 1)))
        out["trials"] = ("obs", trials)
    if sigma is not None:
        out["sigma"] = (("chain", "draw"), sigma)
    return out


def score(prediction: xr.Dataset, y) -> dict[str, float]:
    """Scores of :func:`predict`'s predictions against the rows' outcomes ``y``.

    Continuous and count outcomes (a binomial or beta-binomial model's successes too):
    ``rmse`` of the predictive mean, ``log_score`` (the mean log predictive density, ``log
    mean_s p(y | θ_s)``; higher is better), ``crps`` (from the draws: ``E|Y - y| - E|Y - Y'| /
    2``; lower is better) and ``coverage`` (the share of rows inside the central interval,
    beside the interval's nominal ``coverage``). Binary outcomes: ``accuracy`` (class of
    probability > 1/2), ``brier`` (mean squared error of the probability) and ``log_loss`` (the
    mean negative log probability of the observed class).
    """
    y = np.asarray(y, float)
    if y.shape != prediction["mean"].shape:
        raise ValueError(f"y has shape {y.shape}, the predictions {prediction['mean'].shape}")
    if "trials" in prediction and not np.all((y >= 0) & (y <= prediction["trials"].values)):
        raise ValueError("y counts successes: whole numbers from 0 to each row's trials")
    likelihood = prediction.attrs["likelihood"]
    eta = prediction["eta"].values
    n_draws = eta.shape[0] * eta.shape[1]
    sigma = prediction["sigma"].values.reshape(n_draws, 1) if "sigma" in prediction else None
    trials = prediction["trials"].values if "trials" in prediction else None
    df = prediction.attrs["df"]
    pointwise = np.asarray(_log_score(likelihood, eta.reshape(n_draws, -1), sigma, df, y, trials))
    if likelihood == "bernoulli":
        p = prediction["probability"].values
        return {
            "accuracy": float(np.mean((p > 0.5) == (y == 1))),
            "brier": float(np.mean((p - y) ** 2)),
            "log_loss": float(-pointwise.mean()),
            "n": int(y.size),
        }
    draws = prediction["y"].values.reshape(n_draws, -1)
    half = n_draws // 2  # independent pairs of draws for E|Y - Y'|
    crps = np.abs(draws - y).mean(0) - 0.5 * np.abs(draws[:half] - draws[half : 2 * half]).mean(0)
    inside = (prediction["lower"].values <= y) & (y <= prediction["upper"].values)
    return {
        "rmse": float(np.sqrt(np.mean((prediction["mean"].values - y) ** 2))),
        "log_score": float(pointwise.mean()),
        "crps": float(crps.mean()),
        "coverage": float(inside.mean()),
        "nominal_coverage": float(prediction.attrs["coverage"]),
        "n": int(y.size),
    }


def _trials(likelihood: str, trials, n_rows: int):
    """The new rows' trials, checked: given for a binomial or beta-binomial model, and only for
    them."""
    if likelihood in WITH_TRIALS and trials is None:
        raise ValueError(
            f"a {likelihood} model predicts successes of a number of trials: give trials for "
            "the new rows (one number per row, or one for all)"
        )
    if likelihood not in WITH_TRIALS and trials is not None:
        raise ValueError(f"trials are for a binomial model, and this one is {likelihood}")
    return _validate.trials(trials, n_rows, fitted=False)


# One compiled program per likelihood and shape each: run eagerly, their few operations on
# new shapes compiled one by one (0.3-0.7 s of a first predict or score).
@functools.partial(jax.jit, static_argnums=0)
def _outcome(likelihood: str, eta, sigma, df, key, trials):
    """The outcome at each linear predictor in ``eta`` (chain, draw, obs), ``sigma`` (chain,
    draw) or None, ``trials`` (obs) or None: a draw, its mean, its variance.

    Drawn flat, then reshaped: the same random bits, compiled several times faster than draws
    of shape (chain, draw, obs) (see bayes_reg._random)."""
    noise = None if sigma is None else jnp.broadcast_to(sigma[..., None], eta.shape).ravel()
    if trials is not None:
        trials = jnp.broadcast_to(trials, eta.shape).ravel()
    dist = observation(likelihood, eta.ravel(), noise, df, trials)
    return tuple(a.reshape(eta.shape) for a in (dist.sample(key), dist.mean, dist.variance))


@functools.partial(jax.jit, static_argnums=0)
def _log_score(likelihood: str, eta, sigma, df, y, trials):
    """Each row's log predictive density, ``log mean_s p(y | eta_s, sigma_s)``; ``eta`` is
    (draw, row), ``sigma`` (draw, 1) or None, ``trials`` (row) or None."""
    log_p = observation(likelihood, eta, sigma, df, trials).log_prob(y)
    return logsumexp(log_p, axis=0) - jnp.log(eta.shape[0])
