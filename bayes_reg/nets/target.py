r"""The posterior every approximation of the network targets, and the form of their answers.

:class:`NetTarget` is the Bayesian MLP of :mod:`bayes_reg.nets.bnn` written out: data
standardised on the training rows, weights :math:`N(0, s_w^2)`, biases :math:`N(0, s_b^2)`,
noise fixed at :math:`\sigma` (all in standardised units), the prior the dropout network's
weight decay implies. NUTS samples it; deep ensembles, the Laplace approximation, mean-field
VI and SWAG approximate it; each answers with an :class:`Approximation`: draws of the
function at the test points and the noise each draw's Gaussian adds, so every method is
scored as the same kind of predictive (a mixture of Gaussians,
:mod:`bayes_reg.predictive`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.conventions import to_prior
from bayes_reg.data import Scaling
from bayes_reg.nets.mlp import Layer, mlp
from bayes_reg.priors import Gaussian

__all__ = ["Approximation", "NetTarget", "net_target"]


class NetTarget(NamedTuple):
    """The Bayesian MLP's posterior: standardised data, prior scales and the fixed noise.

    ``X`` (n, d) and ``y`` (n,) are the training rows standardised by ``scaling``;
    ``weight_scale``, ``bias_scale`` and ``sigma`` are in those units.
    """

    X: np.ndarray
    y: np.ndarray
    hidden: tuple[int, ...]
    weight_scale: float
    bias_scale: float
    sigma: float
    scaling: Scaling

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths from input to the one output."""
        return (self.X.shape[1], *self.hidden, 1)

    def log_prior(self, params: tuple[Layer, ...]) -> jax.Array:
        """The Gaussian log prior density of every weight and bias."""
        return sum(
            _normal_log_density(layer.w, self.weight_scale)
            + _normal_log_density(layer.b, self.bias_scale)
            for layer in params
        )

    def log_likelihood(self, params: tuple[Layer, ...]) -> jax.Array:
        """The Gaussian log likelihood of the standardised training rows."""
        return _normal_log_density(self.y - mlp(params, self.X), self.sigma)

    def log_joint(self, params: tuple[Layer, ...]) -> jax.Array:
        """Log likelihood plus log prior: the log density NUTS samples (up to a constant
        in the units of ``y``), whose maximum is the MAP."""
        return self.log_likelihood(params) + self.log_prior(params)

    def inputs(self, X: ArrayLike, *, name: str = "X") -> jax.Array:
        """New rows (original units), checked and standardised as the training rows were."""
        X = _validate.inputs(X, self.X.shape[1], name=name)
        return jnp.asarray(self.scaling.x(X))

    def in_units_of_y(self, f: ArrayLike) -> np.ndarray:
        """Standardised function values back in the units of ``y``."""
        return np.asarray(f, np.float64) * self.scaling.y_sd + self.scaling.y_mean


def _normal_log_density(x, scale) -> jax.Array:
    x = jnp.asarray(x)
    log_norm = math.log(scale) + 0.5 * math.log(2 * math.pi)
    return -0.5 * jnp.sum((x / scale) ** 2) - x.size * log_norm


def net_target(
    X: ArrayLike,
    y: ArrayLike,
    *,
    tau: float,
    weight_decay: float,
    hidden: tuple[int, ...] = (50,),
    bias_prior: Gaussian | None = None,
) -> NetTarget:
    r"""The posterior the dropout network's settings imply.

    Inputs and target are standardised on these rows (mean and population sd); the noise is
    :math:`\tau^{-1/2}` (``tau`` in the units of ``y``) and the weight prior is the Gaussian
    whose MAP is the Keras-convention ``weight_decay`` fit
    (:func:`bayes_reg.conventions.to_prior`), in standardised units.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    tau, weight_decay : float
        Model precision (units of ``y``) and Keras-convention weight decay.
    hidden : tuple of int
        Hidden widths; ``()`` is a linear model (its posterior is Gaussian).
    bias_prior : Gaussian, optional
        Prior of the biases in standardised units; default the weights' prior.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 20)[:, None]; y = 2 * X[:, 0]
    >>> target = net_target(X, y, tau=100.0, weight_decay=1e-3, hidden=(8,))
    >>> target.sizes
    (1, 8, 1)
    """
    X, y = _validate.design(X, y)
    tau = _validate.positive("tau", tau)
    weight_decay = _validate.positive("weight_decay", weight_decay)
    hidden = tuple(_validate.positive_int("hidden layer width", h) for h in hidden)
    scaling = Scaling.fit(X, y)
    sigma = 1.0 / math.sqrt(tau) / scaling.y_sd
    prior = to_prior("keras", weight_decay, n=X.shape[0], sigma=sigma, family="gaussian")
    bias_scale = (bias_prior or prior).scale
    return NetTarget(
        np.asarray(scaling.x(X), np.float64),
        np.asarray(scaling.y(y), np.float64),
        hidden,
        float(prior.scale),
        float(bias_scale),
        float(sigma),
        scaling,
    )


class Approximation(NamedTuple):
    r"""One method's predictive at the test points, in the units of ``y``.

    ``draws`` (S, n_test) are draws of the function (passes, members, sampled weights);
    ``noise_sd`` is the sd of the Gaussian each draw adds: a float (the fixed noise
    :math:`\tau^{-1/2}`) or an array (S, n_test) (a network that predicts its own variance).
    The predictive of a test point is the mixture :math:`\frac1S \sum_s N(f_s, \sigma_s^2)`.
    ``info`` holds the method's own numbers (JSON-able), ``seconds`` its wall time.
    """

    draws: np.ndarray
    noise_sd: float | np.ndarray
    seconds: float
    info: dict
