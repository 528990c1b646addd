import jax
import numpy as np
import numpyro.distributions as dist
import pytest
import scipy.stats
from helpers import X0, Y0
from numpyro import handlers
from numpyro.infer import Predictive

import bayes_reg as br
from bayes_reg.linear.regression import linear_regression
from bayes_reg.priors import Gaussian, Laplace


def _prior_draws(prior, parametrization, n=20_000):
    X = np.zeros((1, 3))
    predictive = Predictive(linear_regression, num_samples=n)
    return predictive(
        jax.random.key(1),
        X,
        prior=prior,
        sigma=1.0,
        intercept_scale=1.0,
        parametrization=parametrization,
    )


@pytest.mark.parametrize("parametrization", ["non-centred", "direct"])
@pytest.mark.parametrize(
    "prior, reference",
    [(Gaussian(0.4), scipy.stats.norm(0, 0.4)), (Laplace(0.4), scipy.stats.laplace(0, 0.4))],
)
def test_weights_follow_the_prior_in_both_parametrizations(prior, reference, parametrization):
    # The non-centred Laplace is the Normal–Exponential scale mixture: it must be Laplace.
    w = np.asarray(_prior_draws(prior, parametrization)["w"]).ravel()
    assert scipy.stats.kstest(w, reference.cdf).pvalue > 1e-3


def test_site_names_and_sampled_sigma():
    model = handlers.seed(linear_regression, jax.random.key(0))
    X, y = np.ones((4, 2)), np.zeros(4)
    trace = handlers.trace(model).get_trace(
        X, y, prior=Gaussian(1.0), sigma=dist.HalfNormal(1.0), intercept_scale=5.0
    )
    assert {"w", "b", "sigma", "y"} <= set(trace)
    assert trace["w"]["value"].shape == (2,)
    fixed = handlers.trace(model).get_trace(
        X, y, prior=Gaussian(1.0), sigma=0.5, intercept_scale=5.0
    )
    assert "sigma" not in fixed


def test_unknown_parametrization_is_refused():
    with pytest.raises(ValueError, match="unknown parametrization 'centered'"):
        linear_regression(
            np.ones((2, 1)), prior=Gaussian(1.0), sigma=1.0, parametrization="centered"
        )


def test_linear_regression_refuses_a_negative_sigma():
    import jax
    from numpyro import handlers

    model = handlers.seed(br.linear_regression, jax.random.key(0))
    with pytest.raises(ValueError, match="sigma must be > 0"):
        handlers.trace(model).get_trace(X0, Y0, prior=br.Gaussian(1.0), sigma=-1.0)
    with pytest.raises(ValueError, match="sigma must be > 0, got -1.0"):
        br.run_nuts(br.linear_regression, X0, Y0, prior=br.Gaussian(1.0), sigma=-1.0)
    with pytest.raises(ValueError, match="sigma must be > 0, got 0.0"):
        br.sample_posterior(X0, Y0, prior=br.Laplace(1.0), sigma=0.0)
    with pytest.raises(TypeError, match="prior must be Gaussian, Laplace, ElasticNet, StudentT or"):
        br.run_nuts(br.linear_regression, X0, Y0, prior="gaussian", sigma=1.0)
