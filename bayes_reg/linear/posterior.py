"""Posterior draws of any bayes_reg model as an ArviZ ``DataTree``, with its diagnostics.

:func:`run_nuts` samples with NUTS, one compiled program per model and shape
(:mod:`bayes_reg._nuts`): a second fit of new data, a new seed or a new strength does not
recompile. :func:`sample_posterior` takes exact i.i.d. draws instead where the model is
conjugate (Gaussian prior, known noise) and NUTS otherwise. Both return the same layout:
``posterior``, ``sample_stats`` (with the fields ArviZ needs for divergences, tree depth and
E-BFMI), ``log_likelihood``, ``posterior_predictive``, ``observed_data`` and
``constant_data`` (the design matrix ``X``), with the feature names as coordinates of dim
``feature``.
"""

from __future__ import annotations

import functools
import time
from typing import NamedTuple

import arviz_base
import jax
import numpy as np
import numpyro.distributions as dist
from jax.typing import ArrayLike
from numpyro.infer import Predictive
from numpyro.infer.util import log_likelihood

from bayes_reg import _validate
from bayes_reg.inference import _program
from bayes_reg.inference.diagnostics import Diagnostics, diagnose
from bayes_reg.linear.exact import exact_posterior, nig_posterior
from bayes_reg.linear.regression import check_arguments, linear_regression
from bayes_reg.priors import Gaussian

__all__ = ["NutsResult", "run_nuts", "sample_posterior"]


_DIMS = {
    "X": ["obs", "feature"],
    "y": ["obs"],
    "w": ["feature"],
    "w_z": ["feature"],
    "w_mix": ["feature"],
}


class NutsResult(NamedTuple):
    """Posterior draws: the ArviZ tree, its diagnostics, the wall time (s), and whether the
    draws are exact i.i.d. draws from a closed-form posterior (``exact``) or NUTS's."""

    tree: object
    diagnostics: Diagnostics
    seconds: float
    exact: bool = False


def _check_budget(X, y, chains, warmup, draws, feature_names):
    X, y = _validate.design(X, y)
    chains = _validate.positive_int("chains", chains)
    warmup = _validate.positive_int("warmup", warmup)
    draws = _validate.positive_int("draws", draws)
    names = (
        list(feature_names) if feature_names is not None else [f"x{j}" for j in range(X.shape[1])]
    )
    if len(names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(names)} entries but X has {X.shape[1]} columns")
    return X, y, chains, warmup, draws, names


def run_nuts(
    model,
    X: ArrayLike,
    y: ArrayLike,
    *,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
    feature_names: list[str] | None = None,
    progress: bool = True,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    **model_kwargs,
) -> NutsResult:
    """Sample ``model(X, y, **model_kwargs)`` with NUTS.

    The run (initialisation, warmup adaptation, sampling, all chains one after another) is
    one compiled program, cached per model, shapes and options: the first call compiles it,
    later calls with new data of the same shape, a new seed or a new prior scale do not.

    Parameters
    ----------
    model : callable
        A NumPyro model taking ``X`` and ``y`` first, like
        :func:`~bayes_reg.linear.regression.linear_regression`.
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    chains, warmup, draws : int
        Number of chains, and warmup and kept draws per chain.
    seed : int
        Seeds the sampler and the posterior predictive.
    feature_names : list of str, optional
        Coordinates of dim ``feature``; default ``x0, x1, ...``.
    progress : bool
        Show a progress bar over all chains' iterations.
    target_accept, max_tree_depth : float, int
        NUTS settings.
    **model_kwargs
        Passed to the model (``prior``, ``sigma``, ...). Arrays and priors are traced
        inputs of the compiled program; strings and ``None`` are fixed into it.

    Returns
    -------
    NutsResult
    """
    X, y, chains, warmup, draws, names = _check_budget(X, y, chains, warmup, draws, feature_names)
    _validate.fraction("target_accept", target_accept, low_open=True, high_open=True)
    max_tree_depth = _validate.positive_int("max_tree_depth", max_tree_depth)
    if model is linear_regression:  # inside the compiled program its arguments are traced
        check_arguments(
            model_kwargs.get("prior"),
            model_kwargs.get("sigma"),
            model_kwargs.get("intercept_scale"),
        )
    key_run, key_pred = jax.random.split(jax.random.key(seed))
    nuts = _program.run(
        model,
        key_run,
        (X, y),
        model_kwargs,
        chains=chains,
        warmup=warmup,
        draws=draws,
        target_accept=target_accept,
        max_tree_depth=max_tree_depth,
        progress=progress,
    )
    tree = _tree(
        model,
        nuts.samples,
        nuts.sample_stats,
        X,
        y,
        names,
        key_pred,
        model_kwargs,
        {"sampler": "NUTS (bayes_reg.inference._program on NumPyro's kernel)"},
    )
    return NutsResult(tree, diagnose(tree, max_tree_depth=max_tree_depth), nuts.seconds, False)


def sample_posterior(
    X: ArrayLike,
    y: ArrayLike,
    *,
    prior,
    sigma,
    method: str = "auto",
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
    feature_names: list[str] | None = None,
    progress: bool = True,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    **model_kwargs,
) -> NutsResult:
    """The posterior of :func:`~bayes_reg.linear.regression.linear_regression`, exact if it can.

    With a Gaussian prior and a known ``sigma`` the posterior is Gaussian in closed form,
    and with ``sigma=inverse_gamma_noise(a, b)`` and ``scale_with_sigma=True`` it is
    Normal–Inverse-Gamma (:func:`~bayes_reg.linear.exact.nig_posterior`):
    ``method="auto"`` (default) then draws ``chains × draws`` i.i.d. samples from it, laid
    out like a NUTS run (``warmup`` is ignored, the sampler statistics describe no
    trajectory: no divergences, tree depth 0) and marked ``exact`` in the result and in
    the tree's attributes. Otherwise, or with ``method="nuts"``, NUTS samples it.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    prior : Gaussian, Laplace or ElasticNet
    sigma : float or numpyro Distribution
        Known noise scale, or a prior on it.
    method : {"auto", "exact", "nuts"}
    chains, warmup, draws, seed, feature_names, progress, target_accept, max_tree_depth
        As in :func:`run_nuts` (the last two only matter when NUTS runs).
    **model_kwargs
        Further arguments of the model (``intercept_scale``, ``parametrization``).

    Returns
    -------
    NutsResult
    """
    _validate.one_of("method", method, ("auto", "exact", "nuts"))
    conjugate = conjugate_family(prior, sigma, model_kwargs.get("scale_with_sigma", False))
    if method == "exact" and conjugate is None:
        raise ValueError(
            "method 'exact' needs a Gaussian prior and either a known sigma (a number) or "
            "sigma=inverse_gamma_noise(...) with scale_with_sigma=True; "
            f"got prior {prior!r} and sigma {sigma!r}; use method='nuts'"
        )
    kwargs = {"prior": prior, "sigma": sigma} | model_kwargs
    if method == "nuts" or conjugate is None:
        return run_nuts(
            linear_regression,
            X,
            y,
            chains=chains,
            warmup=warmup,
            draws=draws,
            seed=seed,
            feature_names=feature_names,
            progress=progress,
            target_accept=target_accept,
            max_tree_depth=max_tree_depth,
            **kwargs,
        )
    X, y, chains, warmup, draws, names = _check_budget(X, y, chains, warmup, draws, feature_names)
    key_draw, key_pred = jax.random.split(jax.random.key(seed))
    start = time.perf_counter()
    post = closed_form(X, y, prior, sigma, model_kwargs.get("intercept_scale"), conjugate)
    theta = jax.block_until_ready(post.sample(key_draw, (chains, draws)))
    seconds = time.perf_counter() - start
    samples = {k: np.asarray(v) for k, v in theta.items()}
    shape = (chains, draws)
    sample_stats = {
        "diverging": np.zeros(shape, bool),
        "n_steps": np.zeros(shape, int),
        "tree_depth": np.zeros(shape, int),
        "reached_max_tree_depth": np.zeros(shape, bool),
    }
    # The draws are of w itself, so the predictive runs the direct parametrization.
    kwargs["parametrization"] = "direct"
    tree = _tree(
        linear_regression,
        samples,
        sample_stats,
        X,
        y,
        names,
        key_pred,
        kwargs,
        {"sampler": "exact i.i.d. draws from the conjugate posterior"},
    )
    return NutsResult(tree, diagnose(tree), seconds, True)


def conjugate_family(prior, sigma, scale_with_sigma: bool = False) -> str | None:
    """``"gaussian"`` (Gaussian prior, known sigma), ``"nig"`` (Gaussian prior, sigma from
    :func:`~bayes_reg.linear.regression.inverse_gamma_noise`, scales in units of sigma) or ``None``
    when the linear model's posterior has no closed form."""
    if not isinstance(prior, Gaussian):
        return None
    if not hasattr(sigma, "sample"):
        return "gaussian"
    return "nig" if scale_with_sigma and _inverse_gamma(sigma) is not None else None


def closed_form(X, y, prior, sigma, intercept_scale=None, family: str = "gaussian"):
    """The closed-form posterior of a conjugate model (see :func:`conjugate_family`)."""
    if family == "gaussian":
        sigma = _validate.positive("sigma", sigma)
        return exact_posterior(
            X, y, prior_scale=prior.scale, sigma=sigma, intercept_scale=intercept_scale
        )
    concentration, rate = _inverse_gamma(sigma)
    return nig_posterior(
        X,
        y,
        prior_scale=prior.scale,
        concentration=concentration,
        rate=rate,
        intercept_scale=intercept_scale,
    )


def _inverse_gamma(sigma) -> tuple[float, float] | None:
    """(concentration, rate) when ``sigma`` is :func:`inverse_gamma_noise`'s distribution.

    NumPyro flattens it to a Gamma(a, b) raised to the power -1 (sigma² ~ InvGamma(a, b))
    and then to the power 1/2.
    """
    powers = [getattr(t, "exponent", None) for t in getattr(sigma, "transforms", ())]
    base = getattr(sigma, "base_dist", None)
    if (
        isinstance(base, dist.Gamma)
        and [float(p) for p in powers if p is not None]
        == [
            -1.0,
            0.5,
        ]
        and len(powers) == 2
    ):
        return float(base.concentration), float(base.rate)
    return None


def _tree(model, samples, sample_stats, X, y, names, key, model_kwargs, attrs):
    """The ArviZ DataTree of a run, with its log likelihood and posterior predictive."""
    chains, draws = samples["b"].shape[:2]
    flat = {k: v.reshape(chains * draws, *v.shape[2:]) for k, v in samples.items()}
    dynamic, static = _program.split_kwargs(model_kwargs)
    log_lik, y_rep = _predictive_program(model, static)(key, flat, X, y, dynamic)
    per_chain = {
        k: np.asarray(v).reshape(chains, draws, -1)
        for k, v in (("log_lik", log_lik), ("y_rep", y_rep))
    }
    tree = arviz_base.from_dict(
        {
            "posterior": samples,
            "sample_stats": sample_stats,
            "log_likelihood": {"y": per_chain["log_lik"]},
            "posterior_predictive": {"y": per_chain["y_rep"]},
            "observed_data": {"y": y},
            "constant_data": {"X": X},
        },
        coords={"feature": names, "obs": np.arange(X.shape[0])},
        dims=_DIMS,
    )
    tree.attrs.update(attrs)
    tree["posterior"].attrs.update(attrs)
    return tree


@functools.lru_cache(maxsize=32)
def _predictive_program(model, static):
    """Pointwise log likelihood and posterior-predictive draws, compiled once per model."""

    @jax.jit
    def run(key, samples, X, y, dynamic):
        kwargs = dynamic | dict(static)
        log_lik = log_likelihood(model, samples, X, y, **kwargs)["y"]
        y_rep = Predictive(model, samples, return_sites=["y"])(key, X, None, **kwargs)["y"]
        return log_lik, y_rep

    return run
