"""The vectorised R-hat and ESS against arviz_stats, their independent reference.

``bayes_reg.inference.ess`` performs ArviZ's floating-point operations in ArviZ's order, so
the numbers agree to the last bit in practice; the tests ask for 1e-10 relative, leaving
room only for a different summation order in numpy, never for a different estimator.
"""

import warnings

import arviz_base
import arviz_stats
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from bayes_reg.inference.diagnostics import diagnose
from bayes_reg.inference.ess import rank_diagnostics, supports

RTOL = 1e-10  # the same operations as ArviZ: agreement to rounding (bitwise, in practice)


def _arviz(draws):
    """arviz_stats' rank R-hat, bulk and tail ESS of (chain, draw, parameter) draws."""
    ds = xr.Dataset({"x": (("chain", "draw", "p"), draws)})
    with warnings.catch_warnings():
        # ArviZ divides 0 by 0 for a constant parameter (R-hat NaN); only its warning.
        warnings.simplefilter("ignore", RuntimeWarning)
        return (
            arviz_stats.rhat(ds)["x"].to_numpy(),
            arviz_stats.ess(ds, method="bulk")["x"].to_numpy(),
            arviz_stats.ess(ds, method="tail")["x"].to_numpy(),
        )


def _check(draws):
    new = rank_diagnostics(draws, prob=arviz_base.rcParams["stats.ci_prob"])
    rhat, bulk, tail = _arviz(draws)
    np.testing.assert_allclose(new.rhat, rhat, rtol=RTOL)
    np.testing.assert_allclose(new.ess_bulk, bulk, rtol=RTOL)
    np.testing.assert_allclose(new.ess_tail, tail, rtol=RTOL)


def _ar1(rng, phi, chains, draws, params):
    e = rng.normal(size=(chains, draws, params))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / np.sqrt(1 - phi**2)  # stationary start
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


CASES = {
    "iid normal": lambda rng, c, d: rng.normal(size=(c, d, 6)),
    "AR(1) 0.9": lambda rng, c, d: _ar1(rng, 0.9, c, d, 4),
    "AR(1) 0.99": lambda rng, c, d: _ar1(rng, 0.99, c, d, 4),
    "AR(1) -0.5": lambda rng, c, d: _ar1(rng, -0.5, c, d, 4),  # Geyer's negative pairs
    "stuck chains": lambda rng, c, d: (
        rng.normal(size=(c, d, 3)) + 5.0 * np.arange(c)[:, None, None]
    ),
    "constant": lambda rng, c, d: np.full((c, d, 2), 1.5),
    "Student-t 1 df": lambda rng, c, d: rng.standard_t(1, size=(c, d, 5)),
    "Poisson ties": lambda rng, c, d: rng.poisson(1.5, size=(c, d, 5)).astype(float),
    "Poisson integers": lambda rng, c, d: rng.poisson(1.5, size=(c, d, 5)),
    "float32": lambda rng, c, d: _ar1(rng, 0.9, c, d, 4).astype(np.float32),
    "mixed": lambda rng, c, d: np.concatenate(
        [rng.normal(size=(c, d, 2)), np.zeros((c, d, 1)), rng.poisson(0.1, size=(c, d, 2))], -1
    ),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("chains", [1, 4])
@pytest.mark.parametrize("draws", [400, 401])
def test_matches_arviz(rng, case, chains, draws):
    _check(CASES[case](rng, chains, draws))


@pytest.mark.parametrize("draws", [4, 5, 6, 7, 8, 9, 10, 11])
def test_matches_arviz_on_short_chains(rng, draws):
    # 4 to 11 draws: Geyer's walk takes no pair, or stops at its length bound.
    _check(np.concatenate([rng.normal(size=(3, draws, 20)), _ar1(rng, -0.5, 3, draws, 20)], -1))


@settings(max_examples=60, deadline=None)  # ArviZ's loop is the slow part
@given(
    chains=st.integers(1, 4),
    draws=st.integers(4, 40),
    params=st.integers(1, 3),
    values=st.sampled_from(["normal", "few integers", "binary"]),
    phi=st.sampled_from([-0.7, 0.0, 0.95]),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_arviz_on_random_draws(chains, draws, params, values, phi, seed):
    rng = np.random.default_rng(seed)
    x = _ar1(rng, phi, chains, draws, params)
    if values == "few integers":
        x = np.round(x)
    elif values == "binary":
        x = (x > 0).astype(float)
    _check(x)


def test_rejects_draws_it_does_not_mirror():
    for draws in [np.full((2, 10, 1), np.nan), np.zeros((2, 3, 1)), np.zeros((2, 10))]:
        assert not supports(draws)
    with pytest.raises(ValueError, match="draws must be finite .* got float64 of shape"):
        rank_diagnostics(np.full((2, 10, 1), np.inf), prob=0.89)


def _tree(posterior):
    chains, draws = next(iter(posterior.values())).shape[:2]
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), bool))})
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def _worst_by_arviz(posterior):
    """The numbers diagnose reported before, by arviz_stats variable by variable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN R-hat of constants (ArviZ)
        rhat = arviz_stats.rhat(posterior)
        bulk = arviz_stats.ess(posterior, method="bulk")
        tail = arviz_stats.ess(posterior, method="tail")
    return (
        np.max([np.max(v.to_numpy()) for v in rhat.values()]),
        np.min([np.min(v.to_numpy()) for v in bulk.values()]),
        np.min([np.min(v.to_numpy()) for v in tail.values()]),
    )


@pytest.mark.parametrize(
    "nan, draws",
    [(False, 200), (True, 200), (False, 3)],
    ids=["vectorised", "NaN draw: ArviZ", "3 draws: ArviZ"],
)
def test_diagnose_matches_arviz_on_mixed_variables(rng, nan, draws):
    posterior = xr.Dataset(
        {
            "a": (("chain", "draw"), rng.normal(size=(4, draws))),
            "b": (("chain", "draw", "i", "j"), _ar1(rng, 0.9, 4, draws, 6).reshape(4, draws, 2, 3)),
            "c": (("chain", "draw", "k"), rng.normal(size=(4, draws, 3)).astype(np.float32)),
            "d": (("chain", "draw", "k"), rng.poisson(2.0, size=(4, draws, 3))),
        }
    )
    if nan:
        posterior["b"][1, 5, 0, 2] = np.nan
    d = diagnose(_tree(posterior))
    np.testing.assert_allclose(
        (d.max_rhat, d.min_ess_bulk, d.min_ess_tail), _worst_by_arviz(posterior), rtol=RTOL
    )


def test_diagnose_matches_arviz_on_a_nuts_run(rng):
    import bayes_reg

    X = rng.normal(size=(30, 5))
    y = X @ rng.normal(size=5) + rng.normal(size=30)
    post = bayes_reg.run_nuts(
        bayes_reg.linear_regression, X, y, prior=bayes_reg.Gaussian(1.0), sigma=1.0, progress=False
    )
    posterior = post.tree["posterior"].to_dataset()
    d = diagnose(post.tree)
    np.testing.assert_allclose(
        (d.max_rhat, d.min_ess_bulk, d.min_ess_tail), _worst_by_arviz(posterior), rtol=RTOL
    )
    assert d == post.diagnostics
