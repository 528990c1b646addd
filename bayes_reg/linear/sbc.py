"""Simulation-based calibration (SBC; Talts et al. 2018) of NUTS on the linear model and GLMs.

If the model's prior is the one the data came from and NUTS samples the posterior, the rank of
each true parameter among L posterior draws is uniform on 0..L. :func:`sbc_ranks` computes these
ranks over many replicates: each draws (w, b, sigma) from the prior with numpy, y from the
likelihood on a fixed design, samples the posterior with
:func:`~bayes_reg.linear.posterior.run_nuts`, thins the draws and ranks the truth among them.
The truth is drawn by numpy, not by the model: a wrong prior inside the NumPyro model is then
caught, which it would not be if the same code drew both. Testing the ranks for uniformity is
the caller's job (``tests/test_sbc.py``; the protocol and its power are in ``docs/sbc.md``).

The replicates are independent, so they go out in chunks, one task per chunk, run in this
process or through :func:`~bayes_reg.fanout.fan_out` (local processes or a Ray cluster).
Replicate ``i`` takes its seeds from ``(seed, i)`` alone: the ranks do not depend on the engine,
the workers or the chunk size, and a short run is the start of a longer one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jax.typing import ArrayLike
from scipy.special import expit

from bayes_reg import _validate
from bayes_reg.fanout import Task, fan_out, resolve_engine, values_or_raise
from bayes_reg.inference.ess import rank_diagnostics
from bayes_reg.inference.sampler import Sampler, as_sampler
from bayes_reg.linear.names import PARAMETRIZATIONS
from bayes_reg.linear.posterior import run_nuts
from bayes_reg.linear.regression import check_arguments, check_trials, linear_regression
from bayes_reg.noise import HalfNormal, Known, Noise, as_noise
from bayes_reg.per_feature import in_feature_order
from bayes_reg.priors import Gaussian, Laplace, Prior

__all__ = ["SBCRanks", "draw_truth", "ranks", "sbc_ranks", "simulate"]

# The prior families the truth can be drawn from, by numpy: independently of NumPyro's code.
_WEIGHTS = {
    Gaussian: lambda rng, prior, n: rng.normal(prior.mean, prior.scale, n),
    Laplace: lambda rng, prior, n: rng.laplace(prior.mean, prior.scale, n),
}
_NOISES = {
    Known: lambda rng, noise: noise.sigma,
    HalfNormal: lambda rng, noise: abs(rng.normal(0.0, noise.scale)),
}


@dataclass(frozen=True)
class SBCRanks:
    """The ranks of the true scalars among their posterior draws, one row per replicate.

    Attributes
    ----------
    names : tuple of str
        The scalars, one per column: ``w[0], w[1], ..., b``, and ``sigma`` when sampled.
    ranks : int array of shape (replicates, scalars)
        How many of the ``draws`` thinned posterior draws lie below the truth: 0..draws,
        uniform when the posterior is right and the thinned draws are independent.
    draws : int
        L, the thinned draws each truth is ranked among.
    min_ess : array of shape (replicates,)
        The smallest bulk ESS over the scalars, of the draws before thinning: fixed thinning
        makes the L draws close to independent only where it is well above L.
    divergences : int array of shape (replicates,)
        NUTS's divergent transitions, over the chains.
    """

    names: tuple[str, ...]
    ranks: np.ndarray
    draws: int
    min_ess: np.ndarray
    divergences: np.ndarray


def draw_truth(
    rng: np.random.Generator,
    n_features: int,
    *,
    prior: Prior,
    intercept_scale: float,
    sigma: float | Noise | None = None,
) -> dict[str, np.ndarray]:
    """The parameters ``w``, ``b`` (and ``sigma``) drawn from the prior by numpy.

    ``prior`` is a :class:`~bayes_reg.priors.Gaussian` or :class:`~bayes_reg.priors.Laplace`,
    ``b ~ N(0, intercept_scale²)``, and ``sigma`` is known (a number or ``Known``: returned
    as is), a :class:`~bayes_reg.noise.HalfNormal` prior (drawn), or ``None`` (no noise scale:
    the Bernoulli, binomial and Poisson likelihoods). Drawn in that order, from ``rng`` only.
    """
    noise = _drawable(prior, sigma)
    truth = {
        "w": _WEIGHTS[type(prior)](rng, prior, n_features),
        "b": np.array(rng.normal(0.0, intercept_scale)),
    }
    if noise is not None:
        truth["sigma"] = np.array(_NOISES[type(noise)](rng, noise))
    return truth


def simulate(
    rng: np.random.Generator,
    X: np.ndarray,
    truth: dict[str, np.ndarray],
    likelihood: str = "gaussian",
    df: float = 4.0,
    trials: np.ndarray | None = None,
) -> np.ndarray:
    """Observations y at the rows of ``X`` given the ``truth`` (and the binomial's or the
    beta-binomial's ``trials`` per row), by numpy."""
    eta = X @ truth["w"] + truth["b"]
    if likelihood == "gaussian":
        return eta + truth["sigma"] * rng.normal(size=X.shape[0])
    if likelihood == "student-t":
        return eta + truth["sigma"] * rng.standard_t(df, size=X.shape[0])
    if likelihood == "bernoulli":
        return (rng.random(X.shape[0]) < expit(eta)).astype(float)
    if likelihood == "binomial":
        return rng.binomial(np.asarray(trials).astype(int), expit(eta)).astype(float)
    if likelihood == "beta-binomial":  # each row's probability from a beta of concentration phi
        phi = 1.0 / truth["sigma"] ** 2
        p = rng.beta(phi * expit(eta), phi * expit(-eta))
        return rng.binomial(np.asarray(trials).astype(int), p).astype(float)
    if likelihood == "gamma":  # shape 1/sigma², mean exp(eta)
        shape = 1.0 / truth["sigma"] ** 2
        return rng.gamma(shape, np.exp(eta) / shape)
    if likelihood == "negative-binomial":  # the Poisson-gamma mixture: gamma of mean 1, sd sigma
        shape = 1.0 / truth["sigma"] ** 2
        return rng.poisson(np.exp(eta) * rng.gamma(shape, 1.0 / shape, X.shape[0])).astype(float)
    return rng.poisson(np.exp(eta)).astype(float)


def ranks(truth: dict[str, np.ndarray], draws: dict[str, np.ndarray]) -> np.ndarray:
    """The rank (0..L) of each true scalar among its L draws, ``draws[name]`` of shape
    ``(L, ...)``: one entry per scalar, in the order of ``draws``, vectors flattened."""
    return np.concatenate([np.ravel((draws[name] < truth[name]).sum(axis=0)) for name in draws])


def sbc_ranks(
    X: ArrayLike,
    *,
    prior: Prior,
    intercept_scale: float,
    sigma: float | Noise | None = None,
    likelihood: str = "gaussian",
    df: float = 4.0,
    parametrization: str = "auto",
    trials: ArrayLike | None = None,
    replicates: int,
    seed: int = 0,
    sampler: Sampler | None = None,
    thin: int = 10,
    draws: int | None = None,
    chunk: int = 50,
    engine: str | None = None,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_task: int = 1,
    progress: bool = True,
) -> SBCRanks:
    """SBC ranks of NUTS's posterior of :func:`linear_regression` over prior draws.

    Replicate ``i`` draws the truth and then y from the prior and likelihood by numpy, samples
    the posterior with :func:`run_nuts`, pools the chains, keeps every ``thin``-th draw (the
    first ``draws`` of them) and ranks each true scalar among them.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The design, the same in every replicate.
    prior : Gaussian or Laplace
        Prior on each weight.
    intercept_scale : float
        ``b ~ N(0, intercept_scale²)``: SBC needs a proper prior on every parameter.
    sigma : float, Known or HalfNormal, optional
        The noise scale (Gaussian, Student-t, beta-binomial, negative binomial and gamma
        likelihoods): known, or sampled under a half-normal prior. ``None`` for the
        Bernoulli, binomial and Poisson.
    likelihood, df, parametrization, trials
        As in :func:`linear_regression` (``trials``, the binomial's and the beta-binomial's,
        the same in every replicate).
    replicates : int
        Replicates ``0 .. replicates - 1``.
    seed : int
        Replicate ``i``'s numpy generator and NUTS seed come from ``SeedSequence([seed, i])``.
    sampler : Sampler, optional
        Default ``Sampler(chains=2, warmup=200, draws=200)``.
    thin : int
        Keep every ``thin``-th of the pooled draws: L draws close to independent, as SBC needs
        (correlated draws bend the rank histogram even when the posterior is right).
    draws : int, optional
        L, the thinned draws each truth is ranked among; default all of them.
    chunk : int
        Replicates per task.
    engine : {None, "auto", "ray", "processes"}
        ``None``: run the chunks one after another in this process; otherwise the engine of
        :func:`~bayes_reg.fanout.fan_out`, with ``address``, ``workers``, ``cpus_per_task``
        and ``progress`` passed on. The ranks are the same, bit for bit, where the processes
        that run the chunks see as many JAX devices (a worker sees ``cpus_per_task``): the
        device count changes how the chains are compiled, and NUTS amplifies the rounding.

    Returns
    -------
    SBCRanks

    Raises
    ------
    RuntimeError
        When chunks failed in the fan-out, once every chunk has finished, naming each.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_reg import Gaussian, Sampler
    >>> X = np.random.default_rng(0).normal(size=(10, 2))
    >>> out = sbc_ranks(X, prior=Gaussian(1.0), intercept_scale=1.0, sigma=1.0, replicates=3,
    ...                 sampler=Sampler(chains=1, warmup=50, draws=40), thin=4, draws=9)
    >>> out.names, out.ranks.shape, int(out.ranks.max()) <= out.draws
    (('w[0]', 'w[1]', 'b'), (3, 3), True)
    """
    X, _ = _validate.design(X)
    check_arguments(prior, sigma, intercept_scale, likelihood)
    check_trials(likelihood, trials)
    trials = _validate.trials(trials, X.shape[0])
    prior = in_feature_order(prior, X.shape[1])
    _validate.one_of("parametrization", parametrization, PARAMETRIZATIONS)
    df = _validate.positive("df", df)
    noise = _drawable(prior, sigma)
    sampler = as_sampler(sampler, chains=2, warmup=200, draws=200)
    thin, chunk = _validate.positive_int("thin", thin), _validate.positive_int("chunk", chunk)
    replicates = _validate.positive_int("replicates", replicates)
    seed = _validate.integer("seed", seed, minimum=0)
    available = -(-sampler.chains * sampler.draws // thin)  # pooled draws, thinned
    draws = available if draws is None else _validate.positive_int("draws", draws)
    if draws > available:
        raise ValueError(f"draws={draws} but thinning by {thin} leaves {available}")
    engine = resolve_engine(engine, address)

    model = {
        "prior": prior,
        "sigma": noise,
        "intercept_scale": intercept_scale,
        "likelihood": likelihood,
        "df": df,
        "parametrization": parametrization,
    } | ({} if trials is None else {"trials": trials})
    common = {
        "X": X,
        "model": model,
        "seed": seed,
        "sampler": sampler,
        "thin": thin,
        "draws": draws,
    }
    tasks = [
        Task(f"replicates {start}-{stop - 1}", _run_chunk, common | {"start": start, "stop": stop})
        for start in range(0, replicates, chunk)
        for stop in [min(start + chunk, replicates)]
    ]
    if engine is None:
        values = [_in_process(task) for task in tasks]
    else:
        outcomes = fan_out(
            tasks,
            engine=engine,
            address=address,
            workers=workers,
            cpus_per_task=cpus_per_task,
            progress=progress,
            label="SBC replicates",
        )
        values = values_or_raise(outcomes, "SBC chunks")
    names = _scalar_names(X.shape[1], noise)
    return SBCRanks(
        names,
        np.concatenate([v["ranks"] for v in values]),
        draws,
        np.concatenate([v["min_ess"] for v in values]),
        np.concatenate([v["divergences"] for v in values]),
    )


def _run_chunk(
    X: np.ndarray,
    model: dict,
    seed: int,
    sampler: Sampler,
    thin: int,
    draws: int,
    start: int,
    stop: int,
) -> dict[str, np.ndarray]:
    """Replicates ``start .. stop - 1`` of :func:`sbc_ranks`, one task (at the top level of
    the module, so that a worker can import it): ``ranks`` (replicate, scalar), ``min_ess`` and
    ``divergences`` (replicate,)."""
    rows = [_replicate(X, model, seed, i, sampler, thin, draws) for i in range(start, stop)]
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


def _replicate(X, model, seed, i, sampler, thin, draws) -> dict:
    data_seed, nuts_seed = np.random.SeedSequence([seed, i]).spawn(2)
    rng = np.random.default_rng(data_seed)
    truth = draw_truth(
        rng,
        X.shape[1],
        prior=model["prior"],
        intercept_scale=model["intercept_scale"],
        sigma=model["sigma"],
    )
    y = simulate(rng, X, truth, model["likelihood"], model["df"], model.get("trials"))
    posterior = run_nuts(
        linear_regression,
        X,
        y,
        sampler=sampler,
        seed=int(nuts_seed.generate_state(1)[0]),
        progress=False,
        **model,
    )
    sites = ["w", "b"] + ([] if model["sigma"] is None or model["sigma"].known else ["sigma"])
    thinned = {site: posterior.pooled(site)[::thin][:draws] for site in sites}
    # (chain, draw, scalar) for the vectorised ESS: ArviZ's bulk ESS, without its loop.
    by_chain = [posterior.tree["posterior"][site].values for site in sites]
    by_chain = np.concatenate([v.reshape(*v.shape[:2], -1) for v in by_chain], axis=-1)
    return {
        "ranks": ranks(truth, thinned),
        "min_ess": rank_diagnostics(by_chain, prob=0.89).ess_bulk.min(),
        "divergences": int(posterior.tree["sample_stats"]["diverging"].values.sum()),
    }


def _drawable(prior: Prior, sigma) -> Noise | None:
    """The noise as a value, once the prior and the noise are known to be drawable by numpy."""
    if type(prior) not in _WEIGHTS:
        raise TypeError(f"SBC draws the weights from a Gaussian or Laplace prior, got {prior!r}")
    noise = None if sigma is None else as_noise(sigma)
    if noise is not None and type(noise) not in _NOISES:
        raise TypeError(f"SBC takes a known sigma or a HalfNormal prior on it, got {noise!r}")
    return noise


def _scalar_names(n_features: int, noise: Noise | None) -> tuple[str, ...]:
    sampled = noise is not None and not noise.known
    return (*(f"w[{j}]" for j in range(n_features)), "b", *(["sigma"] if sampled else []))


def _in_process(task: Task) -> dict:
    try:
        return task.fn(**task.kwargs)
    except Exception as err:
        err.add_note(f"in the SBC chunk of {task.name}")
        raise
