"""The binomial likelihood: ``y`` successes of ``trials`` per row, ``logit⁻¹(eta)`` each.

Set against references written or computed elsewhere: scipy's ``binom`` (the mass, the
moments, the model's log likelihood, predictions and scores), statsmodels' binomial GLM with a
two-column (successes, failures) outcome (the flat-prior mode; its lasso, the proximal
method), the same data as one Bernoulli row per trial (the same posterior: its mode, the log
density up to ``sum log C(trials, y)``, the mass matrix's choice, separability) and the
posterior of a two-coefficient model by quadrature on a grid (NUTS's draws).
"""

import json

import jax
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from helpers import mcse, run_summary
from numpyro.infer.util import log_density
from scipy import stats
from scipy.special import expit, gammaln, log_expit, logsumexp

import bayes_reg as br
from bayes_reg.linear.distributions import observation
from bayes_reg.linear.information import information_weight, likelihood_dominates
from bayes_reg.linear.map import posterior_mode
from bayes_reg.linear.mass import correlation_condition
from bayes_reg.linear.regression import linear_regression
from bayes_reg.run.card import load_card
from bayes_reg.run.schema import CardError

TRUE_W, TRUE_B = np.array([0.8, -0.5, 0.3]), -0.4


def _successes(n=60, seed=0, max_trials=12):
    """Rows of 1..max_trials trials and their successes, drawn by numpy."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    trials = rng.integers(1, max_trials + 1, n)
    return X, rng.binomial(trials, expit(X @ TRUE_W + TRUE_B)).astype(float), trials


def _as_bernoulli_rows(X, y, trials):
    """One row per trial: ``y`` rows of 1 and ``trials - y`` rows of 0 for each row."""
    rows = np.repeat(np.arange(len(y)), trials)
    classes = np.concatenate(
        [np.r_[np.ones(int(k)), np.zeros(int(t - k))] for k, t in zip(y, trials, strict=True)]
    )
    return X[rows], classes


def test_the_mass_and_moments_are_scipys():
    trials = np.array([1, 3, 10, 40, 200, 7])
    eta = np.array([-3.0, -0.2, 0.0, 1.5, 4.0, -12.0])
    ours = observation("binomial", eta, trials=trials)
    for y in (np.zeros(6), np.minimum(trials, 2), trials // 2, trials):
        reference = stats.binom.logpmf(y, trials, expit(eta))
        np.testing.assert_allclose(ours.log_prob(y), reference, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.mean, trials * expit(eta), rtol=1e-12)
    np.testing.assert_allclose(ours.variance, stats.binom.var(trials, expit(eta)), rtol=1e-12)


@pytest.mark.parametrize("summed", [False, True])
def test_the_models_log_likelihood_is_scipys_and_the_bernoulli_rows_plus_a_constant(summed):
    X, y, trials = _successes(n=40)
    params = {"w": np.array([0.5, -0.2, 0.1]), "b": np.array(-0.3)}
    kwargs = {"prior": br.Flat(), "likelihood": "binomial", "trials": trials, "summed": summed}
    value = float(log_density(linear_regression, (X, y), kwargs, params)[0])
    p = expit(X @ params["w"] - 0.3)
    assert value == pytest.approx(stats.binom.logpmf(y, trials, p).sum(), rel=1e-12)
    Xb, yb = _as_bernoulli_rows(X, y, trials)
    bernoulli = {"prior": br.Flat(), "likelihood": "bernoulli", "summed": summed}
    rows = float(log_density(linear_regression, (Xb, yb), bernoulli, params)[0])
    log_choose = gammaln(trials + 1) - gammaln(y + 1) - gammaln(trials - y + 1)
    assert value == pytest.approx(rows + log_choose.sum(), rel=1e-12)


def test_weights_multiply_each_rows_binomial_log_likelihood():
    X, y, trials = _successes(n=30, seed=1)
    weight = np.random.default_rng(2).uniform(0.0, 3.0, 30)
    params = {"w": np.array([0.5, -0.2, 0.1]), "b": np.array(-0.3)}
    kwargs = {"prior": br.Flat(), "likelihood": "binomial", "trials": trials}
    value = log_density(linear_regression, (X, y), kwargs | {"sample_weight": weight}, params)[0]
    reference = weight @ stats.binom.logpmf(y, trials, expit(X @ params["w"] - 0.3))
    assert float(value) == pytest.approx(reference, rel=1e-12)


def _glm(X, y, trials):
    """statsmodels' binomial GLM of (successes, failures)."""
    endog = np.column_stack([y, trials - y])
    return sm.GLM(endog, sm.add_constant(X), family=sm.families.Binomial())


def test_the_flat_prior_mode_is_statsmodels_binomial_glm():
    X, y, trials = _successes(n=200, seed=3)
    ours = posterior_mode(X, y, br.Flat(), likelihood="binomial", trials=trials)
    theirs = _glm(X, y, trials).fit(tol=1e-13)
    np.testing.assert_allclose(np.append(ours["b"], ours["w"]), theirs.params, rtol=1e-7)


def test_the_lasso_mode_is_statsmodels_regularised_binomial_glm():
    """A Laplace(s) prior, by the proximal method: statsmodels' penalised GLM, -loglike / n +
    alpha |w|_1 with alpha = 1 / (n s) (0 for the constant), n the rows; exact zeros included."""
    X, y, trials = _successes(n=200, seed=3)
    X = np.column_stack([X, np.random.default_rng(5).normal(size=len(y))])  # a useless column
    n, scale = len(y), 0.02
    ours = posterior_mode(X, y, br.Laplace(scale), likelihood="binomial", trials=trials)
    alpha = np.append(0.0, np.full(4, 1 / (n * scale)))
    theirs = _glm(X, y, trials).fit_regularized(
        alpha=alpha, L1_wt=1.0, cnvrg_tol=1e-12, maxiter=10_000
    )
    assert ours["w"][3] == 0.0 and theirs.params[4] == 0.0
    np.testing.assert_allclose(np.append(ours["b"], ours["w"]), theirs.params, atol=1e-6)


def test_a_gaussian_prior_mode_is_that_of_the_bernoulli_rows():
    X, y, trials = _successes(n=50, seed=4)
    ours = posterior_mode(X, y, br.Gaussian(0.7), likelihood="binomial", trials=trials)
    rows = posterior_mode(
        *_as_bernoulli_rows(X, y, trials), br.Gaussian(0.7), likelihood="bernoulli"
    )
    np.testing.assert_allclose(ours["w"], rows["w"], rtol=1e-8)
    np.testing.assert_allclose(ours["b"], rows["b"], rtol=1e-8)


def test_the_mass_matrix_judges_the_trials_as_the_bernoulli_rows():
    """The information a row carries is its trials times a Bernoulli row's: the posterior's
    correlation (which chooses a dense mass matrix) is that of the rows expanded."""
    X, y, trials = _successes(n=50, seed=4, max_trials=30)
    X[:, 1] = X[:, 0] + 0.1 * X[:, 1]  # correlated columns
    prior = br.Gaussian(0.7)
    ours = correlation_condition(
        X, y, {"prior": prior, "likelihood": "binomial", "trials": trials}, True
    )
    Xb, yb = _as_bernoulli_rows(X, y, trials)
    rows = correlation_condition(Xb, yb, {"prior": prior, "likelihood": "bernoulli"}, True)
    assert ours == pytest.approx(rows, rel=1e-9) and ours > 10


def test_the_auto_parametrization_judges_the_trials_as_the_bernoulli_rows():
    """Centred where the data's information exceeds the prior's precision: per coefficient the
    same choice for the binomial rows as for the rows expanded (columns of three scales, so
    that the choice differs between them)."""
    X, y, trials = _successes(n=50, seed=4, max_trials=30)
    X = X * np.array([3.0, 0.3, 0.02])
    prior = br.Gaussian(0.1)
    weight = information_weight(None, trials)
    ours = likelihood_dominates(X, y, prior, None, "binomial", True, False, weight)
    Xb, yb = _as_bernoulli_rows(X, y, trials)
    rows = likelihood_dominates(Xb, yb, prior, None, "bernoulli", True, False, None)
    np.testing.assert_array_equal(ours, rows)
    assert 0 < int(np.sum(ours)) < 3  # some coefficients centred, some not


def _grid_posterior(X, y, trials, scale):
    """Posterior mean and sd of (w, b) under N(0, scale²) priors, by quadrature: one feature
    and the intercept on a 401 x 401 grid, ±1.6 around the mode."""
    mode = posterior_mode(
        X, y, br.Gaussian(scale), likelihood="binomial", trials=trials, intercept_scale=scale
    )
    centre = np.array([mode["w"][0], mode["b"]])
    w, b = np.meshgrid(*(c + np.linspace(-1.6, 1.6, 401) for c in centre), indexing="ij")
    eta = X[:, 0, None, None] * w + b
    log_post = stats.binom.logpmf(y[:, None, None], trials[:, None, None], expit(eta)).sum(0)
    log_post += stats.norm.logpdf(w, 0, scale) + stats.norm.logpdf(b, 0, scale)
    p = np.exp(log_post - log_post.max())
    p /= p.sum()
    assert p[0].sum() + p[-1].sum() + p[:, 0].sum() + p[:, -1].sum() < 1e-12  # mass inside
    means = np.array([(p * w).sum(), (p * b).sum()])
    sds = np.sqrt(np.array([(p * w**2).sum(), (p * b**2).sum()]) - means**2)
    return means, sds


@pytest.fixture(scope="module")
def posterior():
    X, y, trials = _successes(n=30, seed=6)
    X = X[:, :1]
    post = br.sample_posterior(
        X,
        y,
        prior=br.Gaussian(1.5),
        likelihood="binomial",
        trials=trials,
        intercept_scale=1.5,
        sampler=br.Sampler(chains=2, warmup=500, draws=2000),
        progress=False,
    )
    return post, X, y, trials


def test_nuts_draws_the_posterior_computed_on_a_grid(posterior):
    post, X, y, trials = posterior
    assert not post.diagnostics.problems
    means, sds = _grid_posterior(X, y, trials, 1.5)
    draws = post.tree["posterior"]
    ours = np.stack([draws["w"].values[..., 0], draws["b"].values], -1)
    assert np.all(np.abs(ours.mean((0, 1)) - means) < 4 * mcse(ours)), (ours.mean((0, 1)), means)
    np.testing.assert_allclose(ours.std((0, 1)), sds, rtol=0.05)


def test_the_tree_keeps_the_trials_and_the_successes_as_counts(posterior):
    post, X, y, trials = posterior
    tree = post.tree
    np.testing.assert_array_equal(tree["constant_data"]["trials"].values, trials)
    assert tree["observed_data"]["y"].dtype.kind == "i"
    y_rep = tree["posterior_predictive"]["y"].values
    assert y_rep.dtype.kind == "i" and (y_rep >= 0).all() and (y_rep <= trials).all()
    draws = tree["posterior"]
    eta = draws["w"].values[..., 0, None] * X[:, 0] + draws["b"].values[..., None]
    np.testing.assert_allclose(
        tree["log_likelihood"]["y"].values, stats.binom.logpmf(y, trials, expit(eta)), rtol=1e-10
    )


def test_predictions_and_scores_are_the_binomials_over_the_draws(posterior):
    post, X, y, trials = posterior
    new = np.array([[-1.0], [0.0], [2.0]])
    n_new = np.array([5, 20, 1])
    got = br.predict(post, new, trials=n_new, seed=1)
    draws = post.tree["posterior"]
    w, b = draws["w"].values.reshape(-1), draws["b"].values.reshape(-1)
    p = expit(np.outer(w, new[:, 0]) + b[:, None])
    np.testing.assert_allclose(got["mean"], (n_new * p).mean(0), rtol=1e-12)
    np.testing.assert_allclose(got["probability"], p.mean(0), rtol=1e-12)
    # The law of total variance: the means' spread plus the mean of each draw's variance.
    total = (n_new * p).var(0) + (n_new * p * (1 - p)).mean(0)
    np.testing.assert_allclose(got["sd"] ** 2, total, rtol=1e-10)
    y_rep = got["y"].values
    assert (y_rep >= 0).all() and (y_rep <= n_new).all()
    observed = np.array([1.0, 9.0, 1.0])
    log_score = logsumexp(stats.binom.logpmf(observed, n_new, p), axis=0) - np.log(len(w))
    assert br.score(got, observed)["log_score"] == pytest.approx(log_score.mean(), rel=1e-10)
    with pytest.raises(ValueError, match="whole numbers from 0 to each row's trials"):
        br.score(got, np.array([1.0, 21.0, 0.0]))


def test_new_rows_need_their_trials(posterior):
    post = posterior[0]
    with pytest.raises(ValueError, match="give trials for the new rows"):
        br.predict(post, np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"trials must be whole numbers >= 0, got 2.5 at row 1"):
        br.predict(post, np.zeros((2, 1)), trials=[3, 2.5])


def test_new_rows_of_no_trials_predict_no_successes(posterior):
    """All new rows may have 0 trials (only a fit needs one trial somewhere): 0 successes
    each, surely, and the success probability of the draws."""
    post = posterior[0]
    new = np.array([[-1.0], [2.0]])
    got = br.predict(post, new, trials=0)
    assert (got["y"].values == 0).all() and (got["mean"] == 0).all() and (got["sd"] == 0).all()
    draws = post.tree["posterior"]
    p = expit(np.outer(draws["w"].values.reshape(-1), new[:, 0]) + draws["b"].values.reshape(-1, 1))
    np.testing.assert_allclose(got["probability"], p.mean(0), rtol=1e-12)
    assert br.score(got, np.zeros(2))["log_score"] == 0.0  # log P(0 of 0) = log 1


def _frame(seed=7):
    X, y, trials = _successes(n=60, seed=seed)
    return pd.DataFrame(X, columns=["a", "b", "c"]).assign(k=y, n=trials)


def test_a_table_with_a_trials_column_is_the_arrays_fit():
    frame = _frame()
    kwargs = {"prior": br.Gaussian(2.0), "likelihood": "binomial", "method": "laplace"}
    model = br.fit("k ~ a + b + c", frame, trials="n", **kwargs)
    X, y, trials = frame[["a", "b", "c"]].to_numpy(), frame.k.to_numpy(), frame.n.to_numpy()
    arrays = br.sample_posterior(X, y, trials=trials, **kwargs)
    for site in ("w", "b"):  # the same draws: the same mode, curvature and random numbers
        np.testing.assert_allclose(
            model.tree["posterior"][site].values, arrays.tree["posterior"][site].values, rtol=1e-9
        )
    table = model.predict(frame.head(4))
    assert list(table.columns) == ["mean", "sd", "lower", "upper", "probability"]
    expected = br.predict(arrays, X[:4], trials=trials[:4])
    np.testing.assert_allclose(table["mean"], expected["mean"], rtol=1e-12)
    with pytest.raises(ValueError, match=r"the new rows lack column\(s\) 'n'"):
        model.predict(frame.head(4).drop(columns="n"))
    # The dot leaves the trials out, as it leaves out the exposure and the weights.
    dotted = br.fit("k ~ .", frame, trials="n", **kwargs)
    assert dotted.design.features == ("a", "b", "c")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"trials": None}, "the binomial likelihood needs trials"),
        ({"likelihood": "bernoulli"}, "trials are the binomial likelihood's .* 'bernoulli'"),
        ({"y": np.full(12, 6.0)}, r"from 0 to the row's trials\), got 6.0 of 5 trials at row 0"),
        ({"y": np.full(12, 1.5)}, r"got 1.5 of 5 trials"),
        ({"y": -np.ones(12)}, r"got -1.0 of 5 trials"),
        ({"trials": np.full(12, 4.5)}, r"trials must be whole numbers >= 0, got 4.5 at row 0"),
        ({"trials": -np.ones(12)}, r"trials must be whole numbers >= 0, got -1.0"),
        ({"trials": np.zeros(12)}, "trials are zero for every row"),
        ({"trials": np.ones(5)}, r"trials must have shape \(12,\)"),
        ({"sigma": 1.0}, "the binomial likelihood has no noise scale"),
    ],
)
def test_bad_models_are_refused(kwargs, match, no_compute):
    X = np.random.default_rng(0).normal(size=(12, 2))
    kwargs = {"y": np.arange(12.0) % 6, "trials": np.full(12, 5), "likelihood": "binomial"} | kwargs
    with pytest.raises(ValueError, match=match):
        br.sample_posterior(X, kwargs.pop("y"), prior=br.Gaussian(1.0), progress=False, **kwargs)


def test_one_number_of_trials_stands_for_every_row():
    X, y, _ = _successes(n=40, seed=8, max_trials=1)
    y = np.minimum(y + (np.arange(40) % 3), 4)
    ours = posterior_mode(X, y, br.Gaussian(1.0), likelihood="binomial", trials=4)
    every = posterior_mode(X, y, br.Gaussian(1.0), likelihood="binomial", trials=np.full(40, 4))
    np.testing.assert_array_equal(ours["w"], every["w"])
    # The model itself too, where "auto" weighs each row's information by its trials.
    params = {"w_z": np.array([0.3, -0.2, 0.1]), "b": np.array(0.2)}
    kwargs = {"prior": br.Gaussian(1.0), "likelihood": "binomial"}
    one = log_density(linear_regression, (X, y), kwargs | {"trials": 4}, params)[0]
    rows = log_density(linear_regression, (X, y), kwargs | {"trials": np.full(40, 4)}, params)[0]
    assert float(one) == float(rows)


def test_the_mass_and_its_slope_are_exact_at_every_log_odds():
    """Against log C(n, y) + y log_expit(eta) + (n - y) log_expit(-eta) (scipy), to rounding,
    from -700 to 700 and at eta = 0, where NumPyro's form has a kink in its gradient; the
    slope y - n expit(eta) the same (as y expit(-eta) - (n - y) expit(eta))."""
    eta = np.r_[np.linspace(-700, 700, 1401), 0.0]
    y, n = np.arange(9.0)[:, None], 8
    exact = (
        gammaln(n + 1.0)
        - gammaln(y + 1)
        - gammaln(n - y + 1)
        + y * log_expit(eta)
        + (n - y) * log_expit(-eta)
    )
    ours = np.asarray(observation("binomial", eta, trials=n).log_prob(y))
    # Four terms of up to ~10 summed, each's gammaln or log_expit exact to an ulp or two (the
    # two libraries' gammaln differ by that): a few ulps of the largest term, 4e-15 under JAX
    # 0.11 and scipy 1.15 (NumPyro's slope at 0 is 1/2 off; its values 2e-14 off at |eta| 700).
    np.testing.assert_allclose(ours, exact, rtol=1e-14, atol=1e-14)
    slope = jax.vmap(jax.grad(lambda e: observation("binomial", e, trials=n).log_prob(y).sum()))
    exact = (y * expit(-eta) - (n - y) * expit(eta)).sum(axis=0)
    np.testing.assert_allclose(slope(eta), exact, rtol=1e-14, atol=1e-300)


def test_a_flat_prior_on_separable_successes_is_refused():
    """Separable as Bernoulli rows: each row's successes above the line, failures below.
    A row with both outcomes cannot move: where a line through it still separates the rest,
    the data are quasi-separable (improper too); where none can, the mode is statsmodels'."""
    x = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    trials = np.array([3, 4, 4, 3])
    with pytest.raises(ValueError, match="linearly separable"):
        posterior_mode(
            x, np.array([0.0, 0.0, 4.0, 3.0]), br.Flat(), likelihood="binomial", trials=trials
        )
    with pytest.raises(ValueError, match="quasi-separable: .* 3 of the 4 rows move"):
        posterior_mode(  # the line through x = -1 and its 1 of 4
            x, np.array([0.0, 1.0, 4.0, 3.0]), br.Flat(), likelihood="binomial", trials=trials
        )
    y = np.array([1.0, 0.0, 4.0, 3.0])  # a line through x = -2 puts x = -1 above, with x = 1
    mode = posterior_mode(x, y, br.Flat(), likelihood="binomial", trials=trials)
    theirs = _glm(x, y, trials).fit(tol=1e-13)
    np.testing.assert_allclose(np.append(mode["b"], mode["w"]), theirs.params, rtol=1e-7)


TOGETHER = r"give likelihood='binomial' \(or 'beta-binomial'\) and trials="


def test_a_table_needs_the_binomial_and_its_trials_together():
    with pytest.raises(ValueError, match=TOGETHER):
        br.fit("k ~ a", _frame(), prior=br.Gaussian(1.0), likelihood="binomial")
    with pytest.raises(ValueError, match=TOGETHER):
        br.fit("k ~ a", _frame(), prior=br.Gaussian(1.0), likelihood="poisson", trials="n")
    with pytest.raises(ValueError, match="trials column 'n' is the target"):
        br.fit("n ~ a", _frame(), prior=br.Gaussian(1.0), likelihood="binomial", trials="n")


CARD = """
title = "successes of trials"
description = "a binomial card"
[data]
source = "csv:data.csv"
formula = "k ~ a + b + c"
test_fraction = 0.25
{trials}
[model]
likelihood = "{likelihood}"
[prior]
scale = 1.0
[posterior]
chains = 2
warmup = 300
draws = 300
"""


def _card(tmp_path, trials='trials = "n"', likelihood="binomial"):
    _frame().to_csv(tmp_path / "data.csv", index=False)
    path = tmp_path / "card.toml"
    path.write_text(CARD.format(trials=trials, likelihood=likelihood))
    return path


def test_a_card_needs_the_binomial_and_its_trials_together(tmp_path):
    assert load_card(_card(tmp_path)).data["trials"] == "n"
    with pytest.raises(CardError, match=r"\[data\] trials: missing"):
        load_card(_card(tmp_path, trials=""))
    with pytest.raises(CardError, match=r"\[data\] trials: names .* likelihood is poisson"):
        load_card(_card(tmp_path, likelihood="poisson"))


def test_a_card_states_its_prior_as_a_bernoulli_penalty_on_its_rows(tmp_path):
    """statsmodels' GLM of (successes, failures) per row, alpha = 0.05 (L1_wt 1, its default):
    -loglike / rows + alpha |w|_1, the prior Laplace(1 / (rows alpha)); a Poisson one refused."""
    path = _card(tmp_path)
    card = CARD.format(trials='trials = "n"', likelihood="binomial")
    penalty = 'convention = "{}"\nstrength = 0.05'
    path.write_text(card.replace("scale = 1.0", penalty.format("statsmodels-binomial")))
    prior = load_card(path).prior(45, ["a", "b", "c"])
    assert isinstance(prior, br.Laplace)
    assert prior.scale == pytest.approx(1 / (45 * 0.05), rel=1e-15)
    path.write_text(card.replace("scale = 1.0", penalty.format("sklearn-poisson")))
    with pytest.raises(CardError, match="penalises a poisson likelihood.*use one of sklearn-log"):
        load_card(path)


@pytest.mark.slow
def test_a_card_runs_the_binomial_and_predicts_new_rows(tmp_path):
    from bayes_reg.cli import main

    summary = run_summary(_card(tmp_path), tmp_path / "out")
    assert summary["likelihood"] == "binomial" and summary["trials"] == "n"
    assert set(summary["held_out"]) >= {"rmse", "log_score", "crps", "coverage"}
    page = (tmp_path / "out" / "report.html").read_text()
    assert "rootogram" in page and "beta-binomial" in page
    trials = _frame()["n"].to_numpy()[:45].sum()  # the training rows: the first three quarters
    assert (
        f"successes of the trials in column <code>n</code> ({trials} trials over 45 rows)" in page
    )
    new = _frame(seed=9).head(5)
    new.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "predictions.csv"
    command = ["predict", str(tmp_path / "out"), "--data", str(tmp_path / "new.csv")]
    assert main([*command, "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert (table["upper"] <= new["n"].to_numpy()).all()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["trials"] == "n"
