r"""The Bayesian view of the dropout network: the same MLP with Gaussian priors, sampled by NUTS.

The prior is the one the dropout network's weight decay implies. The dropout objective
(Keras convention, on standardised data with :math:`N` rows)

.. math::

    \frac1N \sum_i (y_i - f(x_i))^2 + \lambda \sum \|W\|^2

is, times :math:`N / (2\sigma^2)`, the negative log posterior of a network with noise
:math:`N(0, \sigma^2)` and weights :math:`N(0, s^2)` when :math:`s = \sigma / \sqrt{N\lambda}`
(:func:`bayes_reg.conventions.to_prior` with ``"keras"``). With
:math:`\lambda = l^2 (1 - p) / (2 N \tau)` and :math:`\sigma` the model noise
:math:`\tau^{-1/2}` in standardised units, its MAP without dropout is the dropout network's
optimum without dropout. The noise is fixed at that :math:`\sigma`: with it sampled, the
posterior of a 50-unit network interpolates the data and the chains do not mix.

Keras leaves the biases undecayed, a flat prior; under a flat prior a ReLU unit's bias can
run off to :math:`-\infty` (a dead unit) with the likelihood unchanged, an improper
posterior. The biases get the weights' Gaussian unless ``bias_prior`` says otherwise.

Hidden units can be permuted without changing the function, so weight-space R-hat means
little: convergence is judged on the function values at the test points (``f``).
"""

from __future__ import annotations

import functools
import math

import arviz_base
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.conventions import to_prior
from bayes_reg.data import Scaling
from bayes_reg.inference import _program
from bayes_reg.inference.diagnostics import diagnose
from bayes_reg.inference.result import Posterior
from bayes_reg.inference.sampler import Sampler, as_sampler
from bayes_reg.nets.mlp import Layer, mlp
from bayes_reg.nets.target import net_target
from bayes_reg.priors import Gaussian

__all__ = [
    "bayesian_mlp",
    "bnn_posterior",
    "bnn_predict",
    "implied_prior",
]


def implied_prior(weight_decay: float, *, n: int, sigma: float) -> Gaussian:
    """The Gaussian weight prior whose MAP is the Keras-convention weight-decay fit.

    Parameters
    ----------
    weight_decay : float
        Keras ``l2`` coefficient on a mean-squared-error loss.
    n : int
        Training rows.
    sigma : float
        Noise scale, in the units the network is trained in.

    Examples
    --------
    >>> implied_prior(1e-3, n=1000, sigma=0.1).scale  # sigma / sqrt(n * weight_decay)
    0.1
    """
    return to_prior("keras", weight_decay, n=n, sigma=sigma, family="gaussian")


@functools.lru_cache(maxsize=16)
def bayesian_mlp(hidden: tuple[int, ...]):
    """The NumPyro model of an MLP with hidden widths ``hidden`` and one output.

    The returned model is ``model(X, y=None, *, weight_scale, bias_scale, sigma)``: sites
    ``w0, b0, w1, b1, ...`` with priors ``N(0, weight_scale^2)`` and ``N(0, bias_scale^2)``,
    the forward pass :func:`bayes_reg.nets.mlp.mlp` with ``inference=True``, and
    ``y ~ N(f, sigma^2)``.
    One model object per ``hidden``, so the compiled sampler is reused.
    """
    hidden = tuple(int(h) for h in hidden)

    def model(X, y=None, *, weight_scale, bias_scale, sigma):
        sizes = (X.shape[1], *hidden, 1)
        params = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            w = numpyro.sample(f"w{i}", dist.Normal(0.0, weight_scale).expand([fan_in, fan_out]))
            b = numpyro.sample(f"b{i}", dist.Normal(0.0, bias_scale).expand([fan_out]))
            params.append(Layer(w, b))
        # The barrier keeps XLA from fusing whatever computed the weights (in VI, a normal
        # draw per step) into each use in the forward pass, where it was recomputed for every
        # row: without it a 20,000-step mean-field fit on the toy-gap data took 6 s, not 1 s.
        f = mlp(jax.lax.optimization_barrier(tuple(params)), X)
        numpyro.sample("y", dist.Normal(f, sigma), obs=y)

    model.__name__ = f"bayesian_mlp{hidden}"
    return model


def bnn_posterior(
    X: ArrayLike,
    y: ArrayLike,
    X_test: ArrayLike,
    *,
    tau: float,
    weight_decay: float,
    hidden: tuple[int, ...] = (50,),
    bias_prior: Gaussian | None = None,
    sampler: Sampler | None = None,
    seed: int | jax.Array = 0,
    progress: bool = True,
) -> Posterior:
    r"""NUTS on the MLP whose prior the dropout network's weight decay implies.

    Data are standardised as the dropout network's are (training rows' mean and population
    sd); the noise is fixed at :math:`\tau^{-1/2}` (``tau`` in the units of ``y``) and the
    weight prior is :func:`implied_prior` of ``weight_decay`` in standardised units.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    X_test : array of shape (n_test, n_features)
        Where to evaluate the posterior's function draws.
    tau, weight_decay : float
        The dropout network's model precision and Keras-convention weight decay.
    hidden : tuple of int
    bias_prior : Gaussian, optional
        Prior of the biases in standardised units; default the weights' prior.
    sampler, seed, progress
        NUTS budget and settings, as :func:`bayes_reg.run_nuts`.

    Returns
    -------
    Posterior
        ``tree["posterior"]`` holds the weights and ``f``, the function at the test points
        in the units of ``y`` (dims ``chain, draw, test_obs``; ``pooled("f")`` pools the
        chains); ``log_likelihood`` each training row's log density under each draw (so
        ``arviz_stats.loo`` works); ``diagnostics`` are judged on ``f``.
    """
    X, y = _validate.design(X, y)
    target = net_target(
        X, y, tau=tau, weight_decay=weight_decay, hidden=hidden, bias_prior=bias_prior
    )
    X_test = _validate.inputs(X_test, target.X.shape[1], name="X_test")
    sampler = as_sampler(sampler)
    key = _validate.key(seed)
    scaling, sigma = target.scaling, target.sigma
    model = bayesian_mlp(target.hidden)
    kwargs = {"weight_scale": target.weight_scale, "bias_scale": target.bias_scale, "sigma": sigma}
    Xs, ys = jnp.asarray(target.X), jnp.asarray(target.y)
    samples, sample_stats, seconds = _program.run(
        model, key, (Xs, ys), kwargs, sampler, progress=progress
    )
    n_layers = len(target.hidden) + 1
    f = _function_draws(samples, jnp.asarray(target.scaling.x(X_test)), n_layers)
    f_train = _function_draws(samples, Xs, n_layers)
    # Each training row's log density under each draw, in the units of y (for PSIS-LOO).
    log_lik = dist.Normal(f_train, sigma).log_prob(ys) - math.log(scaling.y_sd)
    samples["f"] = np.asarray(f) * scaling.y_sd + scaling.y_mean
    dims = {"f": ["test_obs"], "y": ["obs"]}
    for i in range(n_layers):
        dims[f"w{i}"], dims[f"b{i}"] = [f"in{i}", f"out{i}"], [f"out{i}"]
    tree = arviz_base.from_dict(
        {
            "posterior": samples,
            "sample_stats": sample_stats,
            "log_likelihood": {"y": np.asarray(log_lik)},
            "observed_data": {"y": y},
            "constant_data": {"X_test": X_test},
        },
        dims=dims | {"X_test": ["test_obs", "feature"]},
    )
    attrs = {
        "sampler": "NUTS (bayes_reg.inference._program on NumPyro's kernel)",
        "tau": float(tau),
        "weight_decay": float(weight_decay),
        "prior_scale_standardised": target.weight_scale,
        "sigma_standardised": sigma,
        "x_mean": np.asarray(scaling.x_mean, float),
        "x_sd": np.asarray(scaling.x_sd, float),
        "y_mean": scaling.y_mean,
        "y_sd": scaling.y_sd,
    }
    tree.attrs.update(attrs)
    diagnostics = diagnose(tree, max_tree_depth=sampler.max_tree_depth, var_names=["f"])
    return Posterior(tree, diagnostics, seconds)


def bnn_predict(posterior, X: ArrayLike) -> np.ndarray:
    """The function of every posterior draw at new rows ``X`` (original units), in the units
    of ``y``: shape (chain, draw, rows). The predictive of a row is the mixture over draws of
    ``N(f, 1 / tau)`` (:func:`~bayes_reg.predictive.predictive_summary`).

    Parameters
    ----------
    posterior : Posterior or DataTree
        Of :func:`bnn_posterior` (or a dropout card's ``posterior.nc``).
    X : array of shape (n_rows, n_features)
    """
    tree = getattr(posterior, "tree", posterior)
    attrs, post = tree.attrs, tree["posterior"]
    scaling = Scaling(np.atleast_1d(attrs["x_mean"]), np.atleast_1d(attrs["x_sd"]))
    X = _validate.inputs(X, scaling.x_mean.shape[0])
    n_layers = sum(1 for name in post.data_vars if name.startswith("w"))
    samples = {name: jnp.asarray(post[name].values) for name in post.data_vars if name != "f"}
    f = _function_draws(samples, jnp.asarray(scaling.x(X)), n_layers)
    return np.asarray(f) * attrs["y_sd"] + attrs["y_mean"]


@functools.partial(jax.jit, static_argnums=2)
def _function_draws(samples, X, n_layers):
    """The network of every draw at ``X``: (chain, draw, rows)."""

    def f(s):
        return mlp(tuple(Layer(s[f"w{i}"], s[f"b{i}"]) for i in range(n_layers)), X)

    return jax.vmap(jax.vmap(f))(samples)
