r"""Mean-field variational inference of the Bayesian MLP (Graves 2011; Blundell et al. 2015).

Every weight and bias of :func:`~bayes_reg.nets.bnn.bayesian_mlp` gets its own Gaussian,
:math:`q(\theta) = \prod_j N(\mu_j, s_j^2)` (NumPyro's ``AutoNormal``), fitted to
:class:`~bayes_reg.nets.target.NetTarget`'s posterior by maximising the evidence lower bound

.. math::

    \mathrm{ELBO}(q) = E_q[\log p(y \mid X, \theta) + \log p(\theta) - \log q(\theta)]
    \le \log p(y \mid X)

with reparameterised gradients (``Trace_ELBO``) and Adam, the whole run one compiled
``lax.scan``. Minimising :math:`KL(q \| p)` is mode-seeking: on a Gaussian posterior
:math:`N(m, \Lambda^{-1})` the best mean-field :math:`q` has mean :math:`m` and variances
:math:`1 / \Lambda_{jj}`, below the marginal :math:`(\Lambda^{-1})_{jj}` wherever the
coordinates are correlated (Bishop, PRML 10.1.2); between clusters of data a mean-field
network is overconfident (Foong et al., 2019).

References: A. Graves, "Practical variational inference for neural networks", NeurIPS 2011;
C. Blundell, J. Cornebise, K. Kavukcuoglu, D. Wierstra, "Weight uncertainty in neural
networks", ICML 2015; A. Foong, Y. Li, J. M. Hernández-Lobato, R. Turner, "'In-between'
uncertainty in Bayesian neural networks", 2019.
"""

from __future__ import annotations

import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike
from numpyro.infer import SVI, Trace_ELBO
from numpyro.infer.autoguide import AutoNormal
from numpyro.infer.initialization import init_to_value

from bayes_reg import _validate
from bayes_reg._progress import progress_bar, report_every
from bayes_reg.nets.bnn import bayesian_mlp
from bayes_reg.nets.mlp import Layer, init_mlp, mlp
from bayes_reg.nets.target import Approximation, NetTarget

__all__ = ["MeanField", "fit_mean_field", "mean_field_vi"]


class MeanField(NamedTuple):
    """The fitted guide: each weight's and bias's mean ``loc`` and sd ``scale`` (layers as
    the network's, standardised units), every step's one-draw ELBO estimate ``elbo``
    (steps,), and the wall time (compilation included)."""

    loc: tuple[Layer, ...]
    scale: tuple[Layer, ...]
    elbo: np.ndarray
    seconds: float


@partial(jax.jit, static_argnames=("hidden", "steps", "particles"))
def _fit(key, X, y, scales, learning_rate, init_scale, *, hidden, steps, particles):
    key_init, key_svi = jax.random.split(key)
    # The means start at the Glorot weights every other network starts from.
    start = init_mlp(key_init, (X.shape[1], *hidden, 1), X.dtype)
    values = {
        f"{p}{i}": a for i, layer in enumerate(start) for p, a in zip("wb", layer, strict=True)
    }
    model = bayesian_mlp(hidden)
    guide = AutoNormal(model, init_loc_fn=init_to_value(values=values), init_scale=init_scale)
    # Decayed along a cosine to 1%: a constant rate leaves the noisy-gradient iterates
    # jittering about the optimum, a decaying one settles them (Robbins-Monro).
    adam = optax.adam(optax.cosine_decay_schedule(learning_rate, steps, alpha=0.01))
    svi = SVI(model, guide, adam, Trace_ELBO(num_particles=particles))
    kwargs = dict(zip(("weight_scale", "bias_scale", "sigma"), scales, strict=True))
    every = max(1, steps // 100)

    def step(state, i):
        state, loss = svi.update(state, X, y, **kwargs)
        report_every(i, every)
        return state, loss

    state, losses = jax.lax.scan(step, svi.init(key_svi, X, y, **kwargs), jnp.arange(steps))
    p = svi.get_params(state)
    loc, scale = (
        tuple(Layer(p[f"w{i}_auto_{k}"], p[f"b{i}_auto_{k}"]) for i in range(len(hidden) + 1))
        for k in ("loc", "scale")
    )
    return loc, scale, -losses


def fit_mean_field(
    target: NetTarget,
    *,
    steps: int = 20_000,
    learning_rate: float = 0.03,
    particles: int = 1,
    init_scale: float = 0.05,
    seed: int | jax.Array = 0,
    progress: bool = False,
) -> MeanField:
    """Fit the mean-field Gaussian to ``target``'s posterior (see the module's notes).

    Parameters
    ----------
    target : NetTarget
    steps : int
        Adam steps, each on all rows.
    learning_rate : float
        Adam's first rate, decayed along a cosine to 1% of it by the last step.
    particles : int
        Weight draws averaged in each ELBO gradient.
    init_scale : float
        Every sd's starting value (standardised units). Small, so that the first steps
        follow nearly the gradient of the log joint and fit the data before the sds grow;
        started at the prior's sd the fit reaches a higher ELBO on the toy problem of
        :func:`bayes_reg.data.toy_gap` but predicts its test rows worse.
    seed : int or jax.Array
        Seeds the starting means (Glorot) and the ELBO's draws.
    progress : bool
        Show a progress bar over steps.

    Returns
    -------
    MeanField
    """
    steps = _validate.positive_int("steps", steps)
    learning_rate = _validate.positive("learning_rate", learning_rate)
    particles = _validate.positive_int("particles", particles)
    init_scale = _validate.positive("init_scale", init_scale)
    key = _validate.key(seed)
    scales = (target.weight_scale, target.bias_scale, target.sigma)
    hidden, X, y = tuple(target.hidden), jnp.asarray(target.X), jnp.asarray(target.y)
    start = time.perf_counter()
    with progress_bar(progress, steps - steps % max(1, steps // 100), "mean-field VI"):
        loc, scale, elbo = _fit(
            key, X, y, scales, learning_rate, init_scale,
            hidden=hidden, steps=steps, particles=particles,
        )  # fmt: skip
        jax.block_until_ready(loc)
    elbo = np.asarray(elbo)
    hint = f"learning_rate={learning_rate:g} is too large for this problem; lower it"
    _validate.finite_result("the ELBO", hint, elbo[-1], *jax.tree.leaves((loc, scale)))
    return MeanField(loc, scale, elbo, time.perf_counter() - start)


@partial(jax.jit, static_argnames="draws")
def _function_draws(key, loc, scale, X, *, draws):
    mean, unravel = ravel_pytree(loc)
    sd = ravel_pytree(scale)[0]
    thetas = mean + sd * jax.random.normal(key, (draws, mean.size), mean.dtype)
    return jax.lax.map(lambda t: mlp(unravel(t), X), thetas, batch_size=min(draws, 256))


def mean_field_vi(
    target: NetTarget,
    X_test: ArrayLike,
    *,
    steps: int = 20_000,
    learning_rate: float = 0.03,
    particles: int = 1,
    init_scale: float = 0.05,
    draws: int = 1000,
    seed: int | jax.Array = 0,
    progress: bool = False,
) -> Approximation:
    """Mean-field VI of ``target``'s posterior, answered as draws of the network at ``X_test``.

    Parameters
    ----------
    target : NetTarget
    X_test : array of shape (n_test, n_features)
        In original units.
    steps, learning_rate, particles, init_scale, progress
        As :func:`fit_mean_field`.
    draws : int
        Weight draws from the fitted guide.
    seed : int or jax.Array
        Split into the fit's key and the draws' key: the same seed, the same draws.

    Returns
    -------
    Approximation
        ``draws`` (draws, n_test) in the units of ``y`` and the fixed noise ``noise_sd`` in
        them; ``info``: the ELBO (mean of the last 10% of steps' estimates, standardised
        units, and their sd), the first step's, the settings and the fit's seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_reg.nets.target import net_target
    >>> X = np.linspace(-1, 1, 30)[:, None]; y = np.sin(3 * X[:, 0])
    >>> target = net_target(X, y, tau=100.0, weight_decay=1e-3, hidden=(8,))
    >>> mean_field_vi(target, X[:5], steps=100, draws=10).draws.shape
    (10, 5)
    """
    X = target.inputs(X_test, name="X_test")  # checked before any work
    draws = _validate.positive_int("draws", draws)
    key_fit, key_draw = jax.random.split(_validate.key(seed))
    start = time.perf_counter()
    fit = fit_mean_field(
        target, steps=steps, learning_rate=learning_rate, particles=particles,
        init_scale=init_scale, seed=key_fit, progress=progress,
    )  # fmt: skip
    f = target.in_units_of_y(_function_draws(key_draw, fit.loc, fit.scale, X, draws=draws))
    tail = fit.elbo[-max(1, len(fit.elbo) // 10) :]
    info = {
        "elbo": float(tail.mean()),
        "elbo_sd_last_10pct": float(tail.std()),
        "elbo_first_step": float(fit.elbo[0]),
        "steps": len(fit.elbo),
        "learning_rate": float(learning_rate),
        "particles": int(particles),
        "init_scale": float(init_scale),
        "fit_seconds": fit.seconds,
    }
    return Approximation(f, target.sigma * target.scaling.y_sd, time.perf_counter() - start, info)
