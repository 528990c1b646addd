"""The distributions of the linear model beyond NumPyro's own: ``y`` given the linear predictor
under each likelihood (:func:`observation`), the Bernoulli's and the binomial's masses with a
gradient that is right at log-odds 0, the negative binomial's and the beta-binomial's in forms
that compile fast and stay exact near their limits (the Poisson, the binomial), and a
per-element choice between two distributions (the per-coefficient parametrization)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax.scipy.special import gammaln

__all__ = ["observation", "Bernoulli", "Binomial", "NegativeBinomial", "BetaBinomial", "Either"]


def observation(
    likelihood: str, eta, sigma=None, df: float = 4.0, trials=None
) -> dist.Distribution:
    """The distribution of ``y`` given the linear predictor ``eta`` under ``likelihood``
    (``trials``: the binomial's and the beta-binomial's number of trials per row)."""
    if likelihood == "gaussian":
        return dist.Normal(eta, sigma)
    if likelihood == "student-t":
        return dist.StudentT(df, eta, sigma)
    if likelihood == "bernoulli":
        return Bernoulli(eta)
    if likelihood == "binomial":
        # Whole numbers as integers: NumPyro's binomial sampler indexes a table by them.
        return Binomial(eta, total_count=jnp.asarray(trials).astype(int))
    if likelihood == "beta-binomial":
        return BetaBinomial.of_logits(eta, 1.0 / sigma**2, trials)
    if likelihood == "negative-binomial":
        return NegativeBinomial(jnp.exp(eta), 1.0 / sigma**2)
    if likelihood == "gamma":  # shape 1/sigma², mean exp(eta): rate shape / mean
        shape = 1.0 / sigma**2
        return dist.Gamma(shape, shape * jnp.exp(-eta))
    return dist.Poisson(jnp.exp(eta))


class Bernoulli(dist.BernoulliLogits):
    """NumPyro's Bernoulli of log-odds ``eta``, its log mass ``-softplus(-eta)`` for a 1 and
    ``-softplus(eta)`` for a 0. NumPyro's form, ``max(eta, 0) + log1p(exp(-|eta|)) - y eta``,
    has the right value but a gradient 1/2 off at ``eta = 0`` exactly (JAX differentiates
    ``max`` and ``|.|`` one-sidedly there), where every row sits when the coefficients start at
    0: the proximal method's first line search then doubled its step's curvature 45 times."""

    def log_prob(self, value):
        return -jax.nn.softplus(jnp.where(value > 0, -self.logits, self.logits))


class Binomial(dist.BinomialLogits):
    """NumPyro's binomial of log-odds ``eta``, its log mass ``log C(n, y) - y softplus(-eta) -
    (n - y) softplus(eta)``: NumPyro's has :class:`Bernoulli`'s kink in its gradient at 0."""

    def log_prob(self, value):
        n = jnp.asarray(self.total_count, dtype=jnp.result_type(float))
        return (
            gammaln(n + 1.0)
            - gammaln(value + 1.0)
            - gammaln(n - value + 1.0)
            - value * jax.nn.softplus(-self.logits)
            - (n - value) * jax.nn.softplus(self.logits)
        )


class NegativeBinomial(dist.NegativeBinomial2):
    """NumPyro's negative binomial of mean ``mu`` and shape ``phi``, its log mass ``log
    (phi)_y - log y! - phi log1p(mu / phi) - y log1p(phi / mu)`` with the rising factorial
    ``(phi)_y`` of :func:`_log_rising`, whose large part ``y log(phi + y)`` is taken together
    with ``y log1p(phi / mu)`` as one logarithm: within 1e-13 of the terms summed one by one
    (relative to 1 + the mass) at every shape from 0.01 to 1e17. As ``lgamma`` differences,
    scipy's ``nbinom`` is off by 1e-9 at ``phi = 1e6``, where NUTS nears the Poisson, and the
    form this replaced by 68 at 1e17 (with it NUTS diverged 1,147 times in SBC's 1.2 million
    transitions, 327 with this one). NumPyro's ``betaln`` form made the gradient compile 8
    times slower and the Hessian (a mode, the Laplace approximation) 14 times (7 s on one core
    here, for every new model)."""

    def log_prob(self, value):
        phi, rate = self.concentration, self.rate  # rate = phi / mu
        rest, large = _log_rising(phi, value)
        return (
            rest
            + jnp.where(
                large,
                value * jnp.log((phi + value) / (1.0 + rate)),
                -value * jnp.log1p(rate),
            )
            - gammaln(value + 1.0)
            - phi * jnp.log1p(1.0 / rate)
        )


class BetaBinomial(dist.BetaBinomial):
    """NumPyro's beta-binomial, its log mass ``log C(n, y) + log (a)_y + log (b)_(n-y) - log
    (a + b)_n`` in rising factorials ``(x)_m = Γ(x + m) / Γ(x)`` (:func:`_log_rising`), their
    large parts taken together: within 6e-13 of the terms summed one by one (up to 200 trials)
    at every concentration ``a + b`` from 0.01 to 1e17, under JAX 0.11 and 0.12 (the form this
    replaced: 1.2e-12 under JAX 0.11, at 1e12). As ``lgamma`` differences
    they lose every digit where the concentration is large (near the binomial: scipy's
    ``betabinom`` is off by 2e-9 at 1e6 and 512 at 1e17, where a NUTS chain strayed and stuck);
    NumPyro's ``betaln`` form by 3e-10 and 8, and its gradient compiles 8-15 times slower than
    this form's, its Hessian 10-16 times (13-19 s against 1.3-1.6 s, 69-106 s against 6.5-6.6 s:
    a model of four parameters, two rounds beside a test run)."""

    @classmethod
    def of_logits(cls, eta, concentration, trials):
        """Successes of ``trials`` each, the probability drawn per row from a beta of mean
        ``logit⁻¹(eta)`` and ``concentration`` (the sum of its two shapes)."""
        # Whole numbers as integers: NumPyro's binomial sampler indexes a table by them.
        trials = jnp.asarray(trials).astype(int)
        shape1 = jax.nn.sigmoid(eta) * concentration
        return cls(shape1, jax.nn.sigmoid(-eta) * concentration, trials)

    def log_prob(self, value):
        a, b, n = self.concentration1, self.concentration0, self.total_count
        rest_a, large_a = _log_rising(a, value)
        rest_b, large_b = _log_rising(b, n - value)
        rest_ab, large_ab = _log_rising(a + b, n)
        # The series' large parts m log(x + m) are each about n log(a + b) near the binomial,
        # where the mass may be a thousandth: taken together as logarithms of ratios, exact to
        # a few ulps whatever the ratio.
        top = a + b + n
        from_a = jnp.where(large_a, value, 0.0)
        from_b = jnp.where(large_b, n - value, 0.0)
        large = (
            from_a * jnp.log((a + value) / top)
            + from_b * jnp.log((b + n - value) / top)
            - jnp.where(large_ab, n - from_a - from_b, 0.0) * jnp.log(top)
        )
        return (
            gammaln(n + 1.0)
            - gammaln(value + 1.0)
            - gammaln(n - value + 1.0)
            + rest_a
            + rest_b
            - rest_ab
            + large
        )


#: Above it, ``log Γ(x + m) - log Γ(x)`` by Stirling's series (four terms: 1e-16 from here on).
_STIRLING_FROM = 50.0


def _log_rising(x, m):
    """``log Γ(x + m) - log Γ(x)`` for ``x > 0``, ``m >= 0`` as ``(rest, large)``: the value is
    ``rest`` plus, where ``large``, ``m log(x + m)``, left to the caller to cancel against its
    like. Below :data:`_STIRLING_FROM` ``rest`` is the ``lgamma`` difference (its terms no
    larger than the result's scale), above it Stirling's series rearranged so that nothing large
    cancels, ``(x - 1/2) log1p(m / x) - m`` plus the difference of the series' tails."""
    large = x > _STIRLING_FROM
    small_x = jnp.where(large, 1.0, x)  # each branch on inputs it is good for: no NaN gradient
    large_x = jnp.where(large, x, _STIRLING_FROM)
    direct = gammaln(small_x + m) - gammaln(small_x)
    series = (
        (large_x - 0.5) * jnp.log1p(m / large_x)
        - m
        + _stirling_tail(large_x + m)
        - _stirling_tail(large_x)
    )
    return jnp.where(large, series, direct), large


def _stirling_tail(z):
    """``log Γ(z) - ((z - 1/2) log z - z + log(2π) / 2)``: its asymptotic series, four terms."""
    z2 = z * z
    return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * z2)) / z2) / z2) / z


class Either(dist.Distribution):
    """Per element: ``first`` where ``choose`` is true, else ``second`` (both scalar, real)."""

    support = dist.constraints.real

    def __init__(self, choose, first, second, *, validate_args=None):
        self.choose, self.first, self.second = choose, first, second
        shape = jax.lax.broadcast_shapes(jnp.shape(choose), first.batch_shape, second.batch_shape)
        super().__init__(batch_shape=shape, validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        k1, k2 = jax.random.split(key)
        shape = sample_shape + self.batch_shape
        a, b = self.first.expand(shape).sample(k1), self.second.expand(shape).sample(k2)
        return jnp.where(self.choose, a, b)

    def log_prob(self, value):
        return jnp.where(self.choose, self.first.log_prob(value), self.second.log_prob(value))
