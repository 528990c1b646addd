"""Simulation-based calibration (SBC; Talts et al. 2018) of NUTS on the linear model and GLMs.

If the prior in the model is the prior the data came from, and NUTS samples the posterior, the
rank of a true parameter among posterior draws is uniform. The replicates are computed by
:func:`bayes_reg.linear.sbc.sbc_ranks`: each draws (w, b, sigma) from the prior with numpy (an
independent generator: a wrong prior in the model is caught), y from the likelihood on a fixed
design, runs NUTS, thins to L draws and records the rank of the truth for every scalar (each
w_j, b, sigma when sampled). Here uniformity is tested per scalar with a chi-square test over
BINS bins at level ALPHA.

Power (derived and simulated in docs/sbc.md), per scalar, for a Gaussian posterior: the
chi-square test at ALPHA = 0.001 over 10 bins of L = 39 draws rejects a posterior sd that is
0.9x the truth with probability 0.96 and 1.1x with 0.89 at 3,000 replicates: the full run
(``-m slow``). The default run has 150 replicates per case: power ~0.5% against a 10% sd error
and 12% (0.8x) / 7% (1.25x) against 20-25%, but ~100% against an sd off by a factor 2 and 91%
against a mean off by half a posterior sd. It catches gross errors (a wrong prior family or
scale, a broken parametrization), not subtle ones.

run_nuts compiles once per case (~4 s); a replicate on new data costs ~0.03 s after that. The
default run computes its replicates in the test process; the full run fans them out
(bayes_reg.fanout: Ray where installed, else local processes; BAYES_REG_SBC_ADDRESS=HOST:PORT
sends them to a Ray cluster).
"""

import os

import numpy as np
import pytest
import scipy.stats
from jax import random

import bayes_reg as br
from bayes_reg.fanout import Outcome
from bayes_reg.linear import sbc

N_OBS, N_FEATURES = 20, 3
PRIOR_SCALE = 1.0  # of each w_j, Gaussian sd or Laplace scale
INTERCEPT_SCALE = 2.0  # b ~ N(0, 2²): SBC needs a proper prior on every parameter
SIGMA = 1.0  # the known noise scale, when fixed
SIGMA_PRIOR = 1.0  # sigma ~ HalfNormal(1), when sampled
SAMPLER = br.Sampler(chains=2, warmup=200, draws=200)
# 400 draws thinned by 10 to L = 39: L + 1 = 40 possible ranks, 4 per bin. Thinning makes the
# L draws roughly independent (autocorrelated draws give a U-shaped rank histogram even when
# the posterior is right); check_sbc checks the ESS is at least L in 98% of replicates.
THIN, L = 10, 39
BINS = 10
# Per scalar; there are 64 scalars over the 14 cases, so a correct sampler fails the whole
# suite with probability <= 6.4% (Bonferroni). The seeds are fixed: the outcome is too.
ALPHA = 0.001
REPLICATES, REPLICATES_FULL = 150, 3000
SEED = 2018

DF = 4.0  # of the Student-t likelihood
# id: (prior family, parametrization, sigma sampled?, likelihood)
CASES = {
    "gaussian-sigma-fixed": ("gaussian", "non-centred", False, "gaussian"),
    "gaussian-sigma-sampled": ("gaussian", "non-centred", True, "gaussian"),
    "laplace-noncentred-sigma-fixed": ("laplace", "non-centred", False, "gaussian"),
    "laplace-noncentred-sigma-sampled": ("laplace", "non-centred", True, "gaussian"),
    "laplace-direct-sigma-fixed": ("laplace", "direct", False, "gaussian"),
    "laplace-direct-sigma-sampled": ("laplace", "direct", True, "gaussian"),
    "gaussian-auto-sigma-sampled": ("gaussian", "auto", True, "gaussian"),
    "student-t-likelihood": ("gaussian", "auto", True, "student-t"),
    "bernoulli": ("gaussian", "auto", False, "bernoulli"),
    "poisson": ("laplace", "auto", False, "poisson"),
    "negative-binomial": ("gaussian", "auto", True, "negative-binomial"),
    "binomial": ("gaussian", "auto", False, "binomial"),
    "beta-binomial": ("gaussian", "auto", True, "beta-binomial"),
    "gamma": ("gaussian", "auto", True, "gamma"),
}
#: The binomial's and the beta-binomial's trials per row: 1 to 10, fixed like the design.
TRIALS = np.random.default_rng(SEED + 1).integers(1, 11, N_OBS)


def design():
    return np.random.default_rng(SEED).normal(size=(N_OBS, N_FEATURES))


def model(case):
    """The model arguments of a case, as sbc_ranks takes them."""
    family, parametrization, sigma_sampled, likelihood = CASES[case]
    sigma = br.HalfNormal(SIGMA_PRIOR) if sigma_sampled else SIGMA
    return {
        "prior": br.Gaussian(PRIOR_SCALE) if family == "gaussian" else br.Laplace(PRIOR_SCALE),
        "sigma": None if likelihood in ("bernoulli", "binomial", "poisson") else sigma,
        "intercept_scale": INTERCEPT_SCALE,
        "likelihood": likelihood,
        "df": DF,
        "parametrization": parametrization,
    } | ({"trials": TRIALS} if likelihood in ("binomial", "beta-binomial") else {})


def sbc_nuts(case, replicates, **engine):
    """The case's SBC ranks, ESS and divergences over replicates 0 .. replicates - 1 (each
    replicate's seeds depend only on SEED and its index: the default run is the start of the
    full run). ``engine``: sbc_ranks's engine, chunk and fan-out options."""
    return sbc.sbc_ranks(
        design(),
        **model(case),
        replicates=replicates,
        seed=SEED,
        sampler=SAMPLER,
        thin=THIN,
        draws=L,
        **engine,
    )


def p_values(ranks, names):
    """Chi-square p-value of uniform ranks (0..L), per scalar (a column of ``ranks``)."""
    counts = [np.bincount(r * BINS // (L + 1), minlength=BINS) for r in np.asarray(ranks).T]
    return {name: scipy.stats.chisquare(c).pvalue for name, c in zip(names, counts, strict=True)}


def check_sbc(case, replicates, **engine):
    out = sbc_nuts(case, replicates, **engine)
    # Fixed thinning is valid only if the thinned draws are close to independent.
    low_ess = np.mean(out.min_ess < L)
    assert low_ess <= 0.02, f"{case}: ESS < L = {L} in {low_ess:.1%} of replicates"
    p = p_values(out.ranks, out.names)
    failed = {name: round(v, 6) for name, v in p.items() if v < ALPHA}
    assert not failed, (
        f"{case}: ranks not uniform (chi-square p < {ALPHA}) for {failed}; all p: {p}; "
        f"{out.divergences.sum()} divergences"
    )
    return p


#: The default run checks five cases, in which every prior, parametrization, noise treatment
#: and likelihood but the negative binomial, the binomial, the beta-binomial and the gamma
#: appears; the other nine run with ``-m slow`` (as do all fourteen at the full replicate count,
#: ``test_sbc_full``).
COVERING = {
    "gaussian-sigma-fixed",
    "laplace-direct-sigma-fixed",
    "student-t-likelihood",
    "bernoulli",
    "poisson",
}


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=[pytest.mark.slow] * (c not in COVERING)) for c in CASES]
)
def test_sbc(case):
    check_sbc(case, REPLICATES)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_sbc_full(case):
    """Fanned out: Ray where installed (a local instance, or the cluster at
    BAYES_REG_SBC_ADDRESS), else local processes; the ranks are those of one process."""
    address = os.environ.get("BAYES_REG_SBC_ADDRESS") or None
    check_sbc(case, REPLICATES_FULL, engine="auto", address=address)


def test_processes_give_the_same_ranks():
    """Chunks on worker processes give the ranks of this process, bit for bit (both have one
    JAX device: tests/conftest.py here, cpus_per_task=1 there)."""
    here = sbc_nuts("gaussian-sigma-sampled", 4, chunk=2)
    there = sbc_nuts("gaussian-sigma-sampled", 4, chunk=2, engine="processes", workers=2)
    np.testing.assert_array_equal(there.ranks, here.ranks)
    np.testing.assert_array_equal(there.min_ess, here.min_ess)
    np.testing.assert_array_equal(there.divergences, here.divergences)
    assert there.names == here.names == ("w[0]", "w[1]", "w[2]", "b", "sigma")


def test_failed_chunks_are_named(monkeypatch):
    """Every failed chunk is named, after all of them finished; no NUTS is run."""

    def two_fail(tasks, **_):
        return [
            Outcome(t.name, error=f"ValueError: boom {i}\nTraceback ...") if i else Outcome(t.name)
            for i, t in enumerate(tasks)
        ]

    monkeypatch.setattr(sbc, "fan_out", two_fail)
    with pytest.raises(RuntimeError, match="2 of 3 SBC chunks failed") as err:
        sbc_nuts("bernoulli", 5, chunk=2, engine="processes")
    assert "replicates 2-3: ValueError: boom 1" in str(err.value)
    assert "replicates 4-4: ValueError: boom 2" in str(err.value)


def sbc_exact(replicates, sd_factors, seed=1):
    """SBC ranks of the exact conjugate posterior (Gaussian prior, known sigma), with its
    deviations about the mean scaled by each of ``sd_factors``: 1 is right, anything else is
    wrong. One p-value dict per factor; the factors share the replicates (the same truths,
    data and draws, scaled), as separate calls with the same seed would have drawn them."""
    X, rng = design(), np.random.default_rng(seed)
    keys = random.split(random.key(seed), replicates)
    collected = [[] for _ in sd_factors]
    for key in keys:
        truth = sbc.draw_truth(
            rng,
            N_FEATURES,
            prior=br.Gaussian(PRIOR_SCALE),
            intercept_scale=INTERCEPT_SCALE,
            sigma=SIGMA,
        )
        post = br.exact_posterior(
            X,
            sbc.simulate(rng, X, truth),
            prior_scale=PRIOR_SCALE,
            sigma=SIGMA,
            intercept_scale=INTERCEPT_SCALE,
        )
        sample = post.sample(key, (L,))
        w, b = np.asarray(sample["w"]), np.asarray(sample["b"])
        for sd_factor, into in zip(sd_factors, collected, strict=True):
            draws = {
                "w": post.w_mean + sd_factor * (w - post.w_mean),
                "b": post.b_mean + sd_factor * (b - post.b_mean),
            }
            into.append(sbc.ranks(truth, draws))
    names = [f"w[{j}]" for j in range(N_FEATURES)] + ["b"]
    return [p_values(c, names) for c in collected]


def test_chi_square_has_teeth():
    """The same check passes the exact posterior and rejects it with its sd scaled by 0.8.

    Power at 1,000 replicates, per scalar: 0.999 against 0.8x (docs/sbc.md); the exact
    posterior fails a scalar with probability ALPHA.
    """
    right, narrow = sbc_exact(1000, (1.0, 0.8))
    assert min(right.values()) >= ALPHA, right
    assert max(narrow.values()) < ALPHA, narrow


@pytest.mark.slow
@pytest.mark.parametrize("sd_factor", [0.9, 1.1])
def test_chi_square_catches_10_percent(sd_factor):
    """At the full run's replicate count, the check catches a 10% sd error: it fails a case
    when any scalar's p < ALPHA, as check_sbc does. Per scalar the power is 0.89-0.96, so not
    every scalar need reject (at this seed, with 1.1x, w[2] has p = 0.005)."""
    (p,) = sbc_exact(REPLICATES_FULL, (sd_factor,))
    assert min(p.values()) < ALPHA, p
