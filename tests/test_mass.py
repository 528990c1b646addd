"""The mass matrix chosen from the design: dense where the posterior is small and correlated."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from bayes_reg import (
    Gaussian,
    Laplace,
    Sampler,
    d2l_synthetic,
    exact_posterior,
    linear_regression,
    run_nuts,
    to_prior,
)
from bayes_reg.linear.mass import MAX_COEFFICIENTS, correlation_condition, dense_pays


def _kappa(cov) -> float:
    sd = np.sqrt(np.diag(cov))
    eig = np.linalg.eigvalsh(cov / np.outer(sd, sd))
    return eig[-1] / eig[0]


@pytest.mark.parametrize("intercept_scale", [None, 5.0])
def test_the_condition_number_is_that_of_the_exact_posterior(intercept_scale):
    # Known noise, Gaussian prior: the Gaussian approximation is the exact posterior, whose
    # covariance bayes_reg.exact_posterior computes by its own route (a Cholesky factor).
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4)) @ np.array(
        [[1, 0.9, 0, 0], [0, 0.4, 0, 0], [0, 0, 1, 0], [0, 0, 0.5, 2]]
    )
    y = X @ [1.0, -1.0, 0.5, 0.0] + rng.normal(size=50)
    kwargs = dict(prior=Gaussian(2.0), sigma=0.7)
    intercept = True if intercept_scale is None else Gaussian(intercept_scale)
    if intercept_scale is not None:
        kwargs["intercept_scale"] = intercept_scale
    exact = exact_posterior(X, y, prior_scale=2.0, sigma=0.7, intercept_scale=intercept_scale)
    assert correlation_condition(X, y, kwargs, intercept) == pytest.approx(
        _kappa(np.asarray(exact.cov)), rel=1e-8
    )


def test_dense_where_small_and_correlated_diagonal_elsewhere():
    X, y = load_diabetes(return_X_y=True)  # collinear serum columns: kappa ~ 74
    assert dense_pays(X, y, dict(prior=Gaussian(300.0), sigma=54.0))
    # Orthogonal columns of equal scale and a centred design: kappa = 1.
    Q = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 5)))[0]
    Q -= Q.mean(0)
    assert not dense_pays(Q, np.ones(40), dict(prior=Laplace(1.0), sigma=1.0))
    # The d2l problem: 200 weights, more than a warmup can estimate a covariance for.
    d2l = d2l_synthetic(seed=0)
    assert d2l.X_train.shape[1] + 1 > MAX_COEFFICIENTS
    prior = Gaussian(to_prior("d2l", 3.0, n=20, sigma=0.01).scale)
    assert not dense_pays(d2l.X_train, d2l.y_train, dict(prior=prior, sigma=0.01))


def test_run_nuts_chooses_the_dense_matrix_and_says_so():
    # The intercept far from the data of tests/test_inference.py: b and w correlate at -0.998.
    rng = np.random.default_rng(0)
    X = np.linspace(50, 60, 60)[:, None]
    y = 2 + 0.5 * X[:, 0] + rng.normal(size=60)
    runs = {
        dense: run_nuts(
            linear_regression,
            X,
            y,
            prior=Gaussian(10.0),
            sigma=1.0,
            sampler=Sampler(chains=2, warmup=500, draws=500, dense_mass=dense),
            progress=False,
        )
        for dense in ("auto", False)
    }
    assert runs["auto"].tree.attrs["mass_matrix"] == "dense"
    assert runs[False].tree.attrs["mass_matrix"] == "diagonal"
    steps = {k: float(r.tree["sample_stats"]["n_steps"].mean()) for k, r in runs.items()}
    assert steps["auto"] < 0.8 * steps[False]


def test_sampler_takes_auto_true_or_false_only():
    assert Sampler().dense_mass == "auto"
    with pytest.raises(TypeError, match='True, False or "auto"'):
        Sampler(dense_mass="dense")
