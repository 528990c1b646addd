"""Posterior draws of any bayes_reg model as an ArviZ ``DataTree``, with its diagnostics.

:func:`run_nuts` samples with NUTS, one compiled program per model, shape and sampler
(:mod:`bayes_reg.inference._program`): a second fit of new data, a new seed or a new
strength does not recompile. :func:`sample_posterior` takes exact i.i.d. draws instead
where the model is conjugate (Gaussian prior, known noise) and NUTS otherwise. Both
return a :class:`~bayes_reg.inference.result.Posterior` whose tree has the same layout:
``posterior``, ``sample_stats`` (with the fields ArviZ needs for divergences, tree depth and
E-BFMI), ``log_likelihood``, ``posterior_predictive``, ``observed_data`` and
``constant_data`` (the design matrix ``X``, and ``sample_weight`` and ``trials`` where given),
with the feature names as coordinates of dim ``feature``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import fields, replace

import jax
import numpy as np
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.inference import _program
from bayes_reg.inference.diagnostics import diagnose
from bayes_reg.inference.laplace import laplace_approximation
from bayes_reg.inference.result import Posterior
from bayes_reg.inference.sampler import Sampler, as_sampler
from bayes_reg.linear import gram, mass
from bayes_reg.linear.exact import exact_posterior, nig_posterior
from bayes_reg.linear.names import POSTERIOR_METHODS as METHODS
from bayes_reg.linear.posterior_tree import posterior_tree
from bayes_reg.linear.regression import check_model, linear_regression
from bayes_reg.noise import InverseGamma, as_noise
from bayes_reg.priors import ElasticNet, Gaussian, Laplace, one_value_per_feature

__all__ = ["EXACT_DRAWS", "METHODS", "run_nuts", "sample_posterior"]

#: The tree's ``sampler`` attribute where the draws are exact (conjugate), not NUTS's.
EXACT_DRAWS = "exact i.i.d. draws from the conjugate posterior"

#: ``jax.random.split`` compiled: the same keys in one dispatch instead of several eager ones
#: (0.03 against 0.15 ms in a repeat fit).
_split = jax.jit(jax.random.split)


def _names(X, feature_names) -> list[str]:
    if feature_names is None:
        return [f"x{j}" for j in range(X.shape[1])]
    return _validate.feature_names(feature_names, X.shape[1])


def _checked(X, y, kwargs: dict, feature_names=None) -> dict:
    """The linear model's arguments checked on their concrete values: the prior in the
    features' order, one value per feature (one compiled program whether the prior has one
    scale or one per feature), the noise as a value."""
    if kwargs.get("sample_weight") is not None:
        weight = _validate.sample_weight(kwargs["sample_weight"], X.shape[0])
        kwargs = kwargs | {"sample_weight": weight}
    if kwargs.get("trials") is not None:
        kwargs = kwargs | {"trials": _validate.trials(kwargs["trials"], X.shape[0])}
    _, prior = check_model(X, y, feature_names=feature_names, **kwargs)
    kwargs = kwargs | {"prior": one_value_per_feature(prior, X.shape[1])}
    if kwargs.get("sigma") is None:
        return kwargs
    return kwargs | {"sigma": as_noise(kwargs["sigma"])}


def run_nuts(
    model,
    X: ArrayLike,
    y: ArrayLike,
    *,
    sampler: Sampler | None = None,
    seed: int | jax.Array = 0,
    feature_names: list[str] | None = None,
    progress: bool = True,
    **model_kwargs,
) -> Posterior:
    """Sample ``model(X, y, **model_kwargs)`` with NUTS.

    The run (initialisation, warmup adaptation, sampling, the chains in parallel over the
    devices, one group per CPU core) is one compiled program, cached per model, shapes and
    sampler: the first call compiles it, later calls with new data of the same shape, a new
    seed or a new prior scale do not. For :func:`linear_regression` the Gaussian likelihood is
    evaluated from its sufficient statistics where rows outnumber features, and
    ``Sampler(dense_mass="auto")`` becomes a dense mass matrix where the design says the
    posterior is small and correlated (:mod:`bayes_reg.linear.mass`); the tree's attribute
    ``mass_matrix`` says which. The diagnostics are computed when first asked for.

    Parameters
    ----------
    model : callable
        A NumPyro model taking ``X`` and ``y`` first, like
        :func:`~bayes_reg.linear.regression.linear_regression`.
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    sampler : Sampler, optional
        Chains, warmup, draws and NUTS settings; default ``Sampler()``.
    seed : int or JAX key
        Seeds the sampler and the posterior predictive.
    feature_names : list of str, optional
        Coordinates of dim ``feature``; default: a DataFrame ``X``'s column names, else
        ``x0, x1, ...``.
    progress : bool
        Show a progress bar over all chains' iterations.
    **model_kwargs
        Passed to the model (``prior``, ``sigma``, ...). Arrays, priors and noise values are
        traced inputs of the compiled program; strings and ``None`` are fixed into it. For
        :func:`linear_regression` a prior given by feature name is put in the columns' order;
        another model receives its values in the order they were given.

    Returns
    -------
    Posterior
    """
    feature_names = _validate.table_names(X, feature_names)
    X, y = _validate.design(X, y)
    sampler = as_sampler(sampler)
    names = _names(X, feature_names)
    if model is linear_regression:  # inside the compiled program its arguments are traced
        model_kwargs = _checked(X, y, model_kwargs, feature_names)
    key_run, key_pred = _split(_validate.key(seed))
    sampling_kwargs = model_kwargs
    if model is linear_regression:
        if sampler.dense_mass == "auto":
            sampler = replace(sampler, dense_mass=mass.dense_pays(X, y, model_kwargs))
        if "summed" not in model_kwargs:
            sampling_kwargs = model_kwargs | {"summed": _summed(X, y, model_kwargs)}
    args = (X, y)
    if isinstance(sampling_kwargs.get("summed"), gram.Gram):
        # The statistics hold all the program reads of the rows (their weights included): it
        # gets none, so a fold of another row count runs the same compiled program.
        args = (X[:0], y[:0])
        sampling_kwargs = {k: v for k, v in sampling_kwargs.items() if k != "sample_weight"}
    nuts = _program.run(model, key_run, args, sampling_kwargs, sampler, progress=progress)
    tree = posterior_tree(
        model,
        nuts.samples,
        nuts.sample_stats,
        X,
        y,
        names,
        key_pred,
        model_kwargs,
        {
            "sampler": "NUTS (bayes_reg.inference._program on NumPyro's kernel)",
            "mass_matrix": "dense" if sampler.dense_mass is True else "diagonal",
        },
    )
    # The checks judge the model's parameters, not the sampler's coordinates (w_z, w_mix):
    # those are reparametrizations of w, and judging both would double the work.
    judged = None
    if model is linear_regression:
        judged = [v for v in tree["posterior"].data_vars if v not in _COORDINATES]
    diagnostics = functools.partial(
        diagnose, tree, max_tree_depth=sampler.max_tree_depth, var_names=judged
    )
    return Posterior(tree, diagnostics, nuts.seconds, False)


_COORDINATES = ("w_z", "w_mix")


def _summed(X, y, model_kwargs) -> bool | gram.Gram:
    """How NUTS evaluates the linear model's likelihood: from the Gaussian's sufficient
    statistics where rows outnumber features, else summed over the rows (same density)."""
    gaussian = model_kwargs.get("likelihood", "gaussian") == "gaussian"
    if gaussian and model_kwargs.get("offset") is None and gram.worth_it(X):
        return gram.Gram.of(X, y, model_kwargs.get("sample_weight"))
    return True


def sample_posterior(
    X: ArrayLike,
    y: ArrayLike,
    *,
    prior,
    sigma=None,
    method: str = "auto",
    sampler: Sampler | None = None,
    seed: int | jax.Array = 0,
    feature_names: list[str] | None = None,
    progress: bool = True,
    **model_kwargs,
) -> Posterior:
    """The posterior of :func:`~bayes_reg.linear.regression.linear_regression`, exact if it can.

    With a Gaussian prior and a known ``sigma`` the posterior is Gaussian in closed form,
    and with ``sigma=InverseGamma(a, b)`` and ``scale_with_sigma=True`` it is
    Normal–Inverse-Gamma (:func:`~bayes_reg.linear.exact.nig_posterior`):
    ``method="auto"`` (default) then draws ``chains × draws`` i.i.d. samples from it, laid
    out like a NUTS run (the sampler statistics describe no trajectory: no divergences,
    tree depth 0) and marked ``exact`` in the result and in the tree's attributes.
    Otherwise, or with ``method="nuts"``, NUTS samples it.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    prior : Gaussian, Laplace, ElasticNet, StudentT or Flat
        A scale or mean per feature is a list in the columns' order, or given by feature name
        (a dict, a labelled Series, a DataArray over ``feature``), matched to the feature
        names (:func:`~bayes_reg.per_feature.in_feature_order`).
    sigma : float, noise value or NumPyro distribution
        Known noise scale, or a prior on it (:mod:`bayes_reg.noise`); none for the
        Bernoulli, binomial and Poisson likelihoods.
    method : {"auto", "exact", "nuts", "laplace"}
        ``"laplace"``: draws from the Laplace approximation
        (:func:`~bayes_reg.inference.laplace.laplace_approximation`), its log evidence in
        the tree's attribute ``log_evidence``; for smooth priors (not Laplace, elastic net).
    sampler, seed, feature_names, progress
        As in :func:`run_nuts` (exact draws use only the sampler's chains and draws).
    **model_kwargs
        Further arguments of the model (``likelihood``, ``intercept``, ``intercept_scale``,
        ``offset``, ``parametrization``, ...).

    Returns
    -------
    Posterior
    """
    _validate.one_of("method", method, METHODS)
    misplaced = [f.name for f in fields(Sampler) if f.name in model_kwargs]
    if misplaced:
        given = ", ".join(f"{name}={model_kwargs[name]!r}" for name in misplaced)
        settings = "is a setting" if len(misplaced) == 1 else "are settings"
        raise TypeError(
            f"{', '.join(misplaced)} {settings} of the sampler: give sampler=Sampler({given})"
        )
    feature_names = _validate.table_names(X, feature_names)
    noise = None if sigma is None else as_noise(sigma)
    conjugate = conjugate_family(prior, noise, **model_kwargs)
    if method == "exact" and conjugate is None:
        raise ValueError(
            "method 'exact' needs the gaussian likelihood, a Gaussian prior and either a known "
            "sigma (a number) or sigma=InverseGamma(...) with scale_with_sigma=True; got the "
            f"{model_kwargs.get('likelihood', 'gaussian')} likelihood, prior {prior!r} and "
            f"sigma {sigma!r}; use method='nuts'"
        )
    kwargs = {"prior": prior, "sigma": noise} | model_kwargs
    common = {"sampler": sampler, "seed": seed, "feature_names": feature_names}
    if method == "laplace":
        return _laplace(X, y, kwargs, **common)
    if method == "nuts" or conjugate is None:
        return run_nuts(linear_regression, X, y, progress=progress, **common, **kwargs)
    X, y = _validate.design(X, y)
    sampler = as_sampler(sampler)
    names = _names(X, feature_names)
    key_draw, key_pred = _split(_validate.key(seed))
    start = time.perf_counter()
    kwargs = _checked(X, y, kwargs, feature_names)
    prior, weight = kwargs["prior"], kwargs.get("sample_weight")
    post = closed_form(X, y, prior, noise, kwargs.get("intercept_scale"), conjugate, weight)
    shape = (sampler.chains, sampler.draws)
    theta = jax.block_until_ready(post.sample(key_draw, shape))
    seconds = time.perf_counter() - start
    samples = {k: np.asarray(v) for k, v in theta.items()}
    sample_stats = _no_trajectory(shape)
    tree = posterior_tree(
        linear_regression,
        samples,
        sample_stats,
        X,
        y,
        names,
        key_pred,
        kwargs,
        {"sampler": EXACT_DRAWS},
    )
    return Posterior(tree, diagnose(tree), seconds, True)


def _laplace(X, y, kwargs, *, sampler, seed, feature_names) -> Posterior:
    """Draws from the Laplace approximation, laid out like a NUTS run."""
    if isinstance(kwargs["prior"], Laplace | ElasticNet):
        raise ValueError(
            f"method 'laplace' needs a smooth prior, and {kwargs['prior']!r} has a kink at its "
            "centre where the mode sits and the curvature does not exist; use method='nuts'"
        )
    X, y = _validate.design(X, y)
    kwargs = _checked(X, y, kwargs, feature_names) | {"parametrization": "direct"}
    sampler = as_sampler(sampler)
    shape = (sampler.chains, sampler.draws)
    key_fit, key_pred = _split(_validate.key(seed))
    fit = laplace_approximation(linear_regression, key_fit, (X, y), kwargs, shape)
    attrs = {
        "sampler": "Laplace approximation at the mode (bayes_reg.inference.laplace)",
        "log_evidence": fit.log_evidence,
    }
    tree = posterior_tree(
        linear_regression,
        fit.samples,
        _no_trajectory(shape),
        X,
        y,
        _names(X, feature_names),
        key_pred,
        kwargs,
        attrs,
    )
    return Posterior(tree, diagnose(tree), fit.seconds, False)


def _no_trajectory(shape) -> dict[str, np.ndarray]:
    """Sampler statistics of draws that no trajectory made: no divergence, depth 0."""
    return {
        "diverging": np.zeros(shape, bool),
        "n_steps": np.zeros(shape, int),
        "tree_depth": np.zeros(shape, int),
        "reached_max_tree_depth": np.zeros(shape, bool),
    }


def conjugate_family(prior, sigma, **model_kwargs) -> str | None:
    """``"gaussian"`` (a Gaussian prior, its scale and mean one number or one per feature,
    the Gaussian likelihood, a known sigma), ``"nig"`` (the same with
    ``sigma=InverseGamma(a, b)`` and scales in units of sigma) or ``None`` when the model's
    posterior has no closed form here."""
    gaussian = model_kwargs.get("likelihood", "gaussian") == "gaussian" and sigma is not None
    plain = model_kwargs.get("intercept", True) is True and model_kwargs.get("offset") is None
    if not (gaussian and plain and isinstance(prior, Gaussian)):
        return None
    scale_with_sigma = model_kwargs.get("scale_with_sigma", False)
    noise = as_noise(sigma)
    if noise.known:
        return "gaussian"
    return "nig" if scale_with_sigma and isinstance(noise, InverseGamma) else None


def closed_form(
    X, y, prior, sigma, intercept_scale=None, family: str = "gaussian", sample_weight=None
):
    """The closed-form posterior of a conjugate model (see :func:`conjugate_family`); the
    prior's per-feature values in the columns' order."""
    noise = as_noise(sigma)
    common = {"intercept_scale": intercept_scale, "sample_weight": sample_weight}
    common |= {"prior_scale": prior.scale, "prior_mean": prior.mean}
    if family == "gaussian":
        return exact_posterior(X, y, sigma=noise.sigma, **common)
    return nig_posterior(
        X,
        y,
        concentration=noise.concentration,
        rate=noise.rate,
        **common,
    )
