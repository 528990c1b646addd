"""The Bayesian MLP: its prior is the one weight decay implies, and NUTS samples it.

References: Keras's objective (mean squared error plus ``L2`` regularisers) for the log
posterior up to its constant; scikit-learn's Ridge for the MAP of the linear special case;
for NUTS, the prior itself (with a vanishing likelihood the draws must show N(0, s^2) weights
and the closed-form variance of a random ReLU network), judged with ArviZ's Monte Carlo
standard errors.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from arviz_stats import mcse, rhat
from helpers import import_or_skip
from numpyro.infer.util import log_density
from sklearn.linear_model import Ridge

from bayes_reg.conventions import weight_decay_from_tau
from bayes_reg.data import toy_gap, toy_gap_truth
from bayes_reg.inference.result import Posterior
from bayes_reg.inference.sampler import Sampler
from bayes_reg.nets.bnn import bayesian_mlp, bnn_posterior, implied_prior
from bayes_reg.nets.compare_dropout import dropout_vs_posterior
from bayes_reg.priors import Gaussian

jax.config.update("jax_enable_x64", True)

# Monte Carlo checks: |estimate - truth| < 5 MCSE (ArviZ's, from the chains' autocorrelation).
# With a fixed seed they are deterministic; a correct sampler fails one with probability
# < 6e-7.
Z = 5.0


# --------------------------------------------------------------------------------------
# the implied prior


def test_implied_prior_scale():
    # s = sigma / sqrt(n * weight_decay): the Keras l2 coefficient on a mean squared error.
    prior = implied_prior(2e-3, n=50, sigma=0.3)
    assert isinstance(prior, Gaussian)
    assert prior.scale == pytest.approx(0.3 / np.sqrt(50 * 2e-3), rel=1e-14)
    assert implied_prior(1e-3, n=1000, sigma=0.1).scale == pytest.approx(0.1, rel=1e-14)


def _sites(rng, sizes):
    out = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        out[f"w{i}"] = rng.standard_normal((a, b))
        out[f"b{i}"] = rng.standard_normal(b)
    return out


def test_log_posterior_is_the_keras_objective_times_n_over_two_sigma_squared(rng):
    # With the weights and biases both under N(0, s^2), s = implied_prior(wd).scale, the log
    # posterior is -(N / (2 sigma^2)) * [mean((y - f)^2) + wd * sum(theta^2)] + const,
    # where the bracket is Keras's loss with L2(wd) on kernels and biases (float64 layers).
    # Differences between random weight settings cancel the constant.
    keras = import_or_skip("keras")
    n, d, width, wd, sigma = 25, 2, 5, 3e-3, 0.4
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    s = implied_prior(wd, n=n, sigma=sigma).scale
    model = bayesian_mlp((width,))
    l2 = keras.regularizers.L2(wd)
    net = keras.Sequential(
        [
            keras.Input((d,), dtype="float64"),
            keras.layers.Dense(
                width, "relu", kernel_regularizer=l2, bias_regularizer=l2, dtype="float64"
            ),
            keras.layers.Dense(1, kernel_regularizer=l2, bias_regularizer=l2, dtype="float64"),
        ]
    )
    logp, loss = [], []
    for _ in range(4):
        sites = _sites(rng, (d, width, 1))
        lp, _ = log_density(
            model, (X, y), {"weight_scale": s, "bias_scale": s, "sigma": sigma}, sites
        )
        logp.append(float(lp))
        net.set_weights([sites["w0"], sites["b0"], sites["w1"], sites["b1"]])
        # Keras's forward pass and regularisation terms; the mean squared error by numpy
        # (keras.ops.mean reduces float64 with float32 accuracy, ~1e-7).
        mse = np.mean((y - np.asarray(net(X))[:, 0]) ** 2)
        loss.append(mse + float(sum(net.losses)))
    logp, loss = np.array(logp), np.array(loss)
    # float64 throughout; the log densities are O(1e2-1e3): 1e-9 relative.
    np.testing.assert_allclose(
        logp[1:] - logp[0], -n / (2 * sigma**2) * (loss[1:] - loss[0]), rtol=1e-9
    )


def test_map_of_the_linear_case_is_sklearn_ridge(rng):
    # No hidden layer: y ~ N(Xw + b, sigma^2), w ~ N(0, s^2) and a nearly flat bias prior
    # (Keras does not decay biases). The log posterior is quadratic, so one Newton step from
    # anywhere lands on the MAP; it must be Ridge(alpha = n * wd), whose objective
    # |y - Xw - b|^2 + n wd |w|^2 is n times Keras's.
    n, d, wd, sigma = 60, 4, 0.02, 0.5
    X = rng.standard_normal((n, d))
    y = X @ np.array([1.0, -0.5, 0.0, 2.0]) + 0.3 + 0.2 * rng.standard_normal(n)
    s = implied_prior(wd, n=n, sigma=sigma).scale
    kwargs = {"weight_scale": s, "bias_scale": 1e8, "sigma": sigma}
    model = bayesian_mlp(())

    def logp(theta):
        sites = {"w0": theta[:d].reshape(d, 1), "b0": theta[d:]}
        return log_density(model, (X, y), kwargs, sites)[0]

    @jax.jit
    def newton(theta):
        return theta - jnp.linalg.solve(jax.hessian(logp)(theta), jax.grad(logp)(theta))

    theta = newton(jnp.zeros(d + 1))
    ridge = Ridge(alpha=n * wd, solver="cholesky").fit(X, y)
    # A bias prior of sd 1e8 shifts b by ~sigma^2 / (n 1e16) ~ 1e-19; float64 solves of a
    # 5x5 system with condition number < 1e2: 1e-10.
    np.testing.assert_allclose(np.asarray(theta[:d]), ridge.coef_, rtol=1e-10)
    assert float(theta[d]) == pytest.approx(ridge.intercept_, rel=1e-10)


# --------------------------------------------------------------------------------------
# NUTS on the prior

HIDDEN = (3,)
BUDGET = dict(sampler=Sampler(chains=2, warmup=300, draws=500), progress=False)


@pytest.fixture(scope="module")
def toy():
    return toy_gap(n=30, n_test=7, seed=4)


@pytest.fixture(scope="module")
def prior_run(toy):
    # tau = 1e-6 makes the noise sd ~1e3 target sds: the 30 rows carry ~30 / 1e6 of the
    # prior's information, far below the Monte Carlo error. The decay is chosen so that the
    # implied prior scale is exactly 1 in standardised units.
    tau = 1e-6
    sigma = 1 / np.sqrt(tau) / toy.y_train.std()
    wd = sigma**2 / toy.y_train.size
    return bnn_posterior(
        toy.X_train, toy.y_train, toy.X_test, tau=tau, weight_decay=wd, hidden=HIDDEN, **BUDGET
    )


def test_posterior_tree_layout(toy, prior_run):
    assert isinstance(prior_run, Posterior)
    tree = prior_run.tree
    for group in ("posterior", "sample_stats", "constant_data"):
        assert group in tree.children
    post = tree["posterior"].to_dataset()
    assert set(post.data_vars) == {"w0", "b0", "w1", "b1", "f"}
    assert post["f"].dims == ("chain", "draw", "test_obs") and post["f"].shape == (2, 500, 7)
    assert post["w0"].shape == (2, 500, 1, 3) and post["w1"].shape == (2, 500, 3, 1)
    assert post["b0"].shape == (2, 500, 3) and post["b1"].shape == (2, 500, 1)
    assert prior_run.pooled("f").shape == (1000, 7)
    np.testing.assert_array_equal(prior_run.pooled("f"), post["f"].values.reshape(1000, 7))
    np.testing.assert_array_equal(tree["constant_data"]["X_test"].values, toy.X_test)
    stats = tree["sample_stats"].to_dataset()
    for name in ("diverging", "tree_depth", "energy", "acceptance_rate", "step_size", "lp"):
        assert stats[name].shape == (2, 500)
    sigma = 1e3 / toy.y_train.std()
    assert tree.attrs["sigma_standardised"] == pytest.approx(sigma, rel=1e-12)
    assert tree.attrs["prior_scale_standardised"] == pytest.approx(1.0, rel=1e-12)


def test_diagnostics_are_judged_on_the_function(prior_run):
    f = prior_run.tree["posterior"]["f"].to_dataset()
    worst = float(rhat(f)["f"].max())
    assert prior_run.diagnostics.max_rhat == pytest.approx(worst, rel=1e-12)
    assert prior_run.diagnostics.divergences == int(
        prior_run.tree["sample_stats"]["diverging"].values.sum()
    )


def _within_mcse(values: xr.DataArray, truth):
    """Per element: |mean - truth| < Z * MCSE of the mean (ArviZ)."""
    err = np.abs(values.mean(("chain", "draw")).values - truth)
    return np.all(err < Z * mcse(values, method="mean").values)


def test_nuts_recovers_the_prior_of_every_weight(prior_run):
    post = prior_run.tree["posterior"]
    for name in ("w0", "b0", "w1", "b1"):
        w = post[name]
        assert _within_mcse(w, 0.0), name  # mean 0
        assert _within_mcse(w**2, 1.0), name  # variance s^2 = 1


def test_nuts_recovers_the_variance_of_a_random_relu_network(toy, prior_run):
    # With every weight and bias N(0, 1), H hidden units and standardised input x:
    # w x + b ~ N(0, x^2 + 1), E relu(.)^2 = (x^2 + 1) / 2, so f(x) has mean 0 and variance
    # H (x^2 + 1) / 2 + 1; f is reported in target units (times sd, plus mean).
    x = (toy.X_test[:, 0] - toy.X_train.mean()) / toy.X_train.std()
    y_mean, y_sd = toy.y_train.mean(), toy.y_train.std()
    g = (prior_run.tree["posterior"]["f"] - y_mean) / y_sd
    assert _within_mcse(g, 0.0)
    assert _within_mcse(g**2, HIDDEN[0] * (x**2 + 1) / 2 + 1)


# --------------------------------------------------------------------------------------
# the comparison end to end, and bad input


@pytest.mark.slow
def test_dropout_vs_posterior_end_to_end(toy):
    # Its parts are tested above and in test_dropout / test_predictive; together they compile
    # a training run and MC passes of their own (same shapes and budget as the prior run, so
    # at least the sampler is reused when both run).
    out = dropout_vs_posterior(
        toy.X_train, toy.y_train, toy.X_test, toy.y_test, dropout=0.05, tau=50.0,
        lengthscale=1.0, hidden=HIDDEN, epochs=20, passes=100, seed=1, **BUDGET,
    )  # fmt: skip
    wd = weight_decay_from_tau(50.0, dropout=0.05, n=30, lengthscale=1.0)
    assert out.net.weight_decay == pytest.approx(wd, rel=1e-14)
    assert out.posterior.tree.attrs["tau"] == 50.0
    assert out.posterior.tree.attrs["weight_decay"] == pytest.approx(wd, rel=1e-14)
    assert out.mc.draws.shape == (100, 7) and out.posterior.pooled("f").shape == (1000, 7)
    assert list(out.metrics["source"].values) == ["mc_dropout", "posterior"]
    sd = np.sqrt(out.posterior.pooled("f").var(0) + 1 / 50.0)  # the noise 1 / tau
    assert float(out.metrics["mean_sd"].sel(source="posterior")) == pytest.approx(sd.mean())
    assert out.by_input.sizes == {"source": 2, "test_obs": 7}
    for name in out.metrics.data_vars:
        assert np.isfinite(out.metrics[name].values).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"X_test": np.ones((3, 2))},
            ValueError,
            "X_test has 2 columns but the model was fit on 1",
        ),
        ({"X_test": np.ones(3)}, ValueError, r"X_test must be 2-D"),
        ({"tau": 0.0}, ValueError, "tau must be > 0"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay must be > 0"),
        ({"hidden": (0,)}, ValueError, "hidden layer width must be >= 1"),
        ({"sampler": {"chains": 0}}, ValueError, "chains must be >= 1"),
        ({"sampler": {"draws": 1.5}}, TypeError, "draws must be a whole number"),
        ({"sampler": {"chains": 2, "draws": 10}.items()}, TypeError, "sampler must be a"),
    ],
)
def test_bnn_posterior_refuses_bad_arguments(kwargs, error, match):
    args = {"X_test": np.ones((3, 1)), "tau": 1.0, "weight_decay": 1e-3} | kwargs
    X, y = np.linspace(0, 1, 6)[:, None], np.arange(6.0)
    with pytest.raises(error, match=match):
        if isinstance(args.get("sampler"), dict):  # the budget is refused as it is built
            args["sampler"] = Sampler(**args["sampler"])
        bnn_posterior(X, y, progress=False, **args)


# --------------------------------------------------------------------------------------
# the toy data


def test_toy_gap_layout_and_noise():
    data = toy_gap(n=2000, n_test=50, seed=3)
    x = data.X_train[:, 0]
    assert data.X_train.shape == (2000, 1) and data.X_test.shape == (50, 1)
    assert np.all(((x >= -1) & (x <= -0.4)) | ((x >= 0.4) & (x <= 1)))
    assert (x < 0).sum() == 1000  # half in each cluster
    np.testing.assert_allclose(data.X_test[:, 0], np.linspace(-1.5, 1.5, 50), rtol=1e-15)
    assert data.noise_sd == 0.1
    # Residuals about sin(3x) are N(0, 0.1^2): the sample variance of 2000 has relative
    # standard error sqrt(2 / 2000); 5 of them bound it.
    r = data.y_train - toy_gap_truth(x)
    assert abs(r.var() / 0.01 - 1) < Z * np.sqrt(2 / 2000)
    assert abs(r.mean()) < Z * 0.1 / np.sqrt(2000)


def test_toy_gap_is_seeded():
    a, b, c = toy_gap(seed=1), toy_gap(seed=1), toy_gap(seed=2)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, c.y_train)
    with pytest.raises(ValueError, match="n must be at least 2"):
        toy_gap(n=1)
