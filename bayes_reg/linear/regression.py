"""NumPyro linear regression under a :mod:`bayes_reg.priors` prior.

Site names are stable everywhere results are stored: ``w`` (one per feature, plate
``feature``), ``b`` (intercept), ``sigma`` (noise scale, a site only when sampled) and
``y`` (observations, plate ``obs``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.noise import InverseGamma, Noise, as_noise
from bayes_reg.priors import ElasticNet, Gaussian, Laplace, Prior, split_scales

__all__ = ["linear_regression", "inverse_gamma_noise", "PARAMETRIZATIONS"]

PARAMETRIZATIONS = ("non-centred", "direct")


def linear_regression(
    X: ArrayLike,
    y: ArrayLike | None = None,
    *,
    prior: Prior,
    sigma: float | Noise | dist.Distribution,
    intercept_scale: float | None = None,
    parametrization: str = "non-centred",
    scale_with_sigma: bool = False,
):
    r"""Linear regression :math:`y_i \sim N(x_i^\top w + b, \sigma^2)` with ``w ~ prior``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,), optional
        Observations; ``None`` to sample from the prior predictive.
    prior : Gaussian, Laplace or ElasticNet
        Prior on each weight ``w_j`` (independent).
    sigma : float, noise value or NumPyro distribution
        Known noise scale, or a prior on it (:mod:`bayes_reg.noise`, e.g. ``HalfCauchy(2.5)``,
        or any NumPyro distribution on the positive reals), then sampled as site ``sigma``.
    intercept_scale : float, optional
        Sd of a ``N(0, intercept_scale²)`` prior on ``b``. ``None`` (default) gives ``b`` a
        flat prior: the intercept is never penalised, as in every penalised fit. A flat
        prior has no prior predictive; pass a scale for prior draws.
    parametrization : {"non-centred", "direct"}
        ``"non-centred"`` (default) samples standardised coordinates and scales them:
        Gaussian ``w = scale * w_z`` with ``w_z ~ N(0, 1)``; Laplace as the Normal–Exponential
        scale mixture ``w = scale * sqrt(2 w_mix) * w_z``, ``w_mix ~ Exp(1)``, which NUTS
        samples without divergences. ``"direct"`` samples ``w`` from the prior density
        itself; use it for MAP estimates, since a mode depends on the parametrization.
        The elastic-net prior is always direct.
    scale_with_sigma : bool
        Measure the prior scales in units of the noise: ``w_j ~ prior`` times ``sigma`` (and
        ``b ~ N(0, (sigma * intercept_scale)²)``). With a Gaussian prior and
        ``sigma=InverseGamma(a, b)`` this is the conjugate Normal–Inverse-Gamma model,
        whose posterior :func:`~bayes_reg.linear.exact.nig_posterior` gives in closed form.

    Examples
    --------
    >>> import jax, numpy as np
    >>> from numpyro import handlers
    >>> model = handlers.seed(linear_regression, jax.random.key(0))
    >>> trace = handlers.trace(model).get_trace(np.eye(3), prior=Laplace(1.0), sigma=0.5,
    ...                                         intercept_scale=10.0)
    >>> [name for name in trace if not name.startswith(("feature", "obs"))]
    ['w_z', 'w_mix', 'w', 'b', 'y']
    """
    _validate.one_of("parametrization", parametrization, PARAMETRIZATIONS)
    check_arguments(prior, sigma, intercept_scale)
    X = jnp.asarray(X)
    n, d = X.shape
    sigma = as_noise(sigma).site("sigma")
    unit = sigma if scale_with_sigma else 1.0
    if scale_with_sigma and isinstance(prior, ElasticNet):
        raise ValueError("scale_with_sigma supports Gaussian and Laplace priors, not ElasticNet")
    with numpyro.plate("feature", d):
        w = _weights(prior, parametrization, unit)
    if intercept_scale is None:
        b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
    else:
        b = numpyro.sample("b", dist.Normal(0.0, intercept_scale * unit))
    mu = X @ w + b
    with numpyro.plate("obs", n):
        numpyro.sample("y", dist.Normal(mu, sigma), obs=y)


def check_arguments(prior, sigma, intercept_scale=None) -> None:
    """Refuse a non-prior, a noise scale <= 0 and an intercept scale <= 0.

    Values traced inside a compiled sampler cannot be checked there; callers check the
    concrete values first (:func:`~bayes_reg.linear.posterior.run_nuts` does).
    """
    split_scales(prior)  # TypeError for anything but Gaussian, Laplace, ElasticNet
    as_noise(sigma)
    if intercept_scale is not None and not isinstance(intercept_scale, jax.core.Tracer):
        _validate.positive("intercept_scale", intercept_scale)


def inverse_gamma_noise(concentration: float, rate: float) -> InverseGamma:
    """A prior on ``sigma`` with ``sigma² ~ InverseGamma(concentration, rate)``: the same as
    :class:`bayes_reg.noise.InverseGamma`.

    Pass it as ``sigma`` with ``scale_with_sigma=True`` for the conjugate
    Normal–Inverse-Gamma model.
    """
    return InverseGamma(concentration, rate)


def _weights(prior: Prior, parametrization: str, unit=1.0):
    if isinstance(prior, ElasticNet):
        return numpyro.sample("w", prior.to_numpyro())
    if parametrization == "direct":
        family = dist.Normal if isinstance(prior, Gaussian) else dist.Laplace
        return numpyro.sample("w", family(0.0, prior.scale * unit))
    z = numpyro.sample("w_z", dist.Normal(0.0, 1.0))
    if isinstance(prior, Gaussian):
        return numpyro.deterministic("w", prior.scale * unit * z)
    if isinstance(prior, Laplace):
        mix = numpyro.sample("w_mix", dist.Exponential(1.0))
        return numpyro.deterministic("w", prior.scale * unit * jnp.sqrt(2.0 * mix) * z)
    raise TypeError(f"prior must be Gaussian, Laplace or ElasticNet, got {prior!r}")
