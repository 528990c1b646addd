"""Predictions for new rows (bayes_reg.linear.predict) and the formula front end
(bayes_reg.linear.fit): the predictive against the closed form written out here, interval
coverage where the truth is known, GLM means against the draws, scores against scipy and
scikit-learn."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr
from scipy.special import expit, logsumexp
from sklearn.linear_model import Ridge
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss

from bayes_reg import (
    Fit,
    Gaussian,
    HalfCauchy,
    Sampler,
    fit,
    posterior_mode,
    predict,
    sample_posterior,
    score,
)

EXACT = Sampler(chains=4, draws=1000)


def _closed_form(X, y, prior_sd, sigma):
    """The posterior of (b, w) under a flat intercept and w ~ N(0, prior_sd²), known sigma."""
    A = np.column_stack([np.ones(len(y)), X])
    precision = A.T @ A / sigma**2 + np.diag([0.0] + [prior_sd**-2] * X.shape[1])
    cov = np.linalg.inv(precision)
    return cov @ A.T @ y / sigma**2, cov


def test_gaussian_predictive_is_the_closed_form():
    rng = np.random.default_rng(1)
    X, X_new = rng.normal(size=(30, 3)), rng.normal(size=(5, 3))
    y = X @ [1.0, -0.5, 0.0] + 0.4 + 0.8 * rng.normal(size=30)
    post = sample_posterior(X, y, prior=Gaussian(0.7), sigma=0.8, sampler=EXACT, progress=False)
    out = predict(post, X_new, seed=2)
    mean, cov = _closed_form(X, y, 0.7, 0.8)
    A_new = np.column_stack([np.ones(5), X_new])
    exact_mean = A_new @ mean
    mean_var = np.einsum("ni,ij,nj->n", A_new, cov, A_new)
    # 4000 i.i.d. draws: the mean within 5 Monte Carlo sds of it.
    np.testing.assert_array_less(
        np.abs(out["mean"].values - exact_mean), 5 * np.sqrt(mean_var / 4000)
    )
    # sd² = sigma² + the mean's variance, which 4000 draws estimate to a relative sd of
    # sqrt(2 / 4000): within 5 of those.
    exact_sd = np.sqrt(0.8**2 + mean_var)
    np.testing.assert_array_less(
        np.abs(out["sd"].values ** 2 - exact_sd**2), 5 * np.sqrt(2 / 4000) * mean_var
    )
    # The central 90% interval: N(mean, sd²)'s quantiles; a 5% quantile of 4000 draws has an
    # sd of 0.034 sd, so 0.1 sd is 3 of those.
    z = scipy.stats.norm.ppf(0.95)
    for bound, sign in (("upper", 1), ("lower", -1)):
        error = np.abs(out[bound].values - (exact_mean + sign * z * exact_sd))
        np.testing.assert_array_less(error, 0.1 * exact_sd)


def test_intervals_cover_their_probability_when_the_truth_is_drawn_from_the_prior():
    """The truth drawn from the prior: a Bayesian interval then covers its probability."""
    rng = np.random.default_rng(2)
    inside = []
    for rep in range(20):
        w, b = rng.normal(0, 1.0, 4), rng.normal(0, 2.0)
        X, X_new = rng.normal(size=(25, 4)), rng.normal(size=(100, 4))
        y, y_new = (A @ w + b + 0.5 * rng.normal(size=len(A)) for A in (X, X_new))
        post = sample_posterior(
            X,
            y,
            prior=Gaussian(1.0),
            sigma=0.5,
            intercept_scale=2.0,
            sampler=EXACT,
            seed=rep,
            progress=False,
        )
        s = score(predict(post, X_new, coverage=0.9, seed=rep), y_new)
        inside.append(s["coverage"])
    # 2000 rows: 90% within 3 binomial sds (0.020).
    assert abs(np.mean(inside) - 0.9) < 3 * np.sqrt(0.9 * 0.1 / 2000)


def test_nuts_intervals_cover_their_probability_with_a_sampled_noise():
    rng = np.random.default_rng(3)
    X, X_new = rng.normal(size=(200, 3)), rng.normal(size=(2000, 3))
    w = np.array([0.5, -1.0, 2.0])
    y, y_new = (A @ w + 1.0 + 1.3 * rng.normal(size=len(A)) for A in (X, X_new))
    post = sample_posterior(
        X,
        y,
        prior=Gaussian(3.0),
        sigma=HalfCauchy(2.0),
        sampler=Sampler(chains=2, warmup=300, draws=500),
        progress=False,
    )
    s = score(predict(post, X_new, coverage=0.9), y_new)
    # 2000 test rows: 3 binomial sds; the posterior is narrow (n = 200), so rows are nearly
    # independent given it.
    assert abs(s["coverage"] - 0.9) < 3 * np.sqrt(0.9 * 0.1 / 2000)
    # The predictive sd is about the noise's 1.3 (the posterior adds ~1%).
    assert 1.2 < float(s["rmse"]) < 1.45


def test_glm_means_probabilities_and_offsets_are_those_of_the_draws():
    rng = np.random.default_rng(4)
    X, X_new = rng.normal(size=(80, 2)), rng.normal(size=(6, 2))
    y = (rng.uniform(size=80) < expit(X @ [1.5, -1.0])).astype(float)
    post = sample_posterior(
        X,
        y,
        prior=Gaussian(2.0),
        likelihood="bernoulli",
        sampler=Sampler(chains=2, warmup=200, draws=300),
        progress=False,
    )
    out = predict(post, X_new)
    w, b = post.pooled("w"), post.pooled("b")
    p = expit(w @ X_new.T + b[:, None]).mean(0)
    np.testing.assert_allclose(out["probability"].values, p, rtol=1e-12)
    assert set(np.unique(out["y"].values)) <= {0, 1}
    counts = rng.poisson(np.exp(0.3 + X @ [0.4, 0.2]) * 2.0)
    post = sample_posterior(
        X,
        counts,
        prior=Gaussian(1.0),
        likelihood="poisson",
        offset=np.full(80, np.log(2.0)),
        sampler=Sampler(chains=2, warmup=200, draws=300),
        progress=False,
    )
    exposure = np.linspace(1, 3, 6)
    out = predict(post, X_new, offset=np.log(exposure))
    w, b = post.pooled("w"), post.pooled("b")
    rate = np.exp(w @ X_new.T + b[:, None]) * exposure
    np.testing.assert_allclose(out["mean"].values, rate.mean(0), rtol=1e-10)
    np.testing.assert_allclose(out["sd"].values ** 2, rate.var(0) + rate.mean(0), rtol=1e-10)


def test_scores_against_scipy_and_sklearn():
    rng = np.random.default_rng(5)
    X, X_new = rng.normal(size=(60, 2)), rng.normal(size=(300, 2))
    y, y_new = (A @ [1.0, 2.0] + 0.5 * rng.normal(size=len(A)) for A in (X, X_new))
    post = sample_posterior(X, y, prior=Gaussian(5.0), sigma=0.5, sampler=EXACT, progress=False)
    out = predict(post, X_new)
    s = score(out, y_new)
    mu = out["mu"].values.reshape(-1, 300)
    log_p = logsumexp(scipy.stats.norm.logpdf(y_new, mu, 0.5), axis=0) - np.log(len(mu))
    assert s["log_score"] == pytest.approx(log_p.mean(), rel=1e-10)
    assert s["rmse"] == pytest.approx(np.sqrt(np.mean((mu.mean(0) - y_new) ** 2)), rel=1e-10)
    # CRPS of N(m, sd²), closed form; the draws' estimate within a few percent.
    z = (y_new - out["mean"].values) / out["sd"].values
    closed = out["sd"].values * (
        z * (2 * scipy.stats.norm.cdf(z) - 1) + 2 * scipy.stats.norm.pdf(z) - 1 / np.sqrt(np.pi)
    )
    assert s["crps"] == pytest.approx(closed.mean(), rel=0.03)

    yb = (rng.uniform(size=60) < expit(X @ [2.0, -1.0])).astype(float)
    yb_new = (rng.uniform(size=300) < expit(X_new @ [2.0, -1.0])).astype(float)
    post = sample_posterior(
        X,
        yb,
        prior=Gaussian(2.0),
        likelihood="bernoulli",
        sampler=Sampler(chains=2, warmup=200, draws=300),
        progress=False,
    )
    out = predict(post, X_new)
    s, p = score(out, yb_new), out["probability"].values
    assert s["accuracy"] == pytest.approx(accuracy_score(yb_new, p > 0.5))
    assert s["brier"] == pytest.approx(brier_score_loss(yb_new, p), rel=1e-10)
    assert s["log_loss"] == pytest.approx(log_loss(yb_new, p), rel=1e-8)


def test_bad_prediction_input():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(20, 2))
    post = sample_posterior(X, X[:, 0], prior=Gaussian(1.0), sigma=1.0, progress=False)
    with pytest.raises(ValueError, match="coverage"):
        predict(post, X, coverage=1.0)
    with pytest.raises(ValueError, match="columns"):
        predict(post, rng.normal(size=(4, 3)))
    with pytest.raises(ValueError, match="shape"):
        score(predict(post, X), np.zeros(3))


@pytest.fixture(scope="module")
def patients():
    rng = np.random.default_rng(7)
    n = 120
    frame = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "age": rng.uniform(20, 80, n),
            "dose": rng.uniform(1, 10, n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    frame["y"] = (
        0.05 * frame.age + 2 * np.log(frame.dose) + (frame.sex == "M") + rng.normal(0, 0.5, n)
    )
    return frame


def test_formula_fit_is_ridge_on_the_standardised_columns(patients):
    model = fit(
        "y ~ age + np.log(dose) + C(sex)",
        patients,
        prior=Gaussian(0.5),
        sigma=0.5,
        standardize=True,
        id="id",
        sampler=EXACT,
        progress=False,
    )
    raw = np.column_stack([patients.age, np.log(patients.dose), patients.sex == "M"]).astype(float)
    Z = (raw - raw.mean(0)) / raw.std(0)
    ridge = Ridge(alpha=(0.5 / 0.5) ** 2).fit(Z, patients.y)  # alpha = sigma² / prior sd²
    w = model.tree["posterior"]["w"].values.reshape(-1, 3)
    # Gaussian posterior: its mean is the ridge fit; 4000 exact draws, 5 Monte Carlo sds.
    np.testing.assert_array_less(np.abs(w.mean(0) - ridge.coef_), 5 * w.std(0) / np.sqrt(4000))
    coefs = model.coefficients()
    assert list(coefs.index) == ["Intercept", "age", "np.log(dose)", "C(sex)[T.M]"]
    np.testing.assert_allclose(coefs["mean"].values[1:], w.mean(0) / raw.std(0), rtol=1e-12)
    table = model.predict(patients.iloc[:4], coverage=0.8)
    assert list(table.index) == ["p0", "p1", "p2", "p3"] and table.index.name == "id"
    assert list(table.columns) == ["mean", "sd", "lower", "upper"]
    assert np.all(table["lower"] < table["mean"]) and np.all(table["mean"] < table["upper"])
    assert model.score(patients)["rmse"] < 0.6


def test_formula_fit_refuses_an_intercept_the_formula_removed(patients):
    with pytest.raises(ValueError, match="removes the intercept"):
        fit(
            "y ~ age - 1",
            patients,
            prior=Gaussian(1.0),
            sigma=1.0,
            intercept=Gaussian(1.0),
            progress=False,
        )


def test_formula_fit_names_the_features_a_per_feature_prior_misses(patients, no_compute):
    # Two scales, for age and dose, miss C(sex)'s indicator: the message names all 3 features.
    with pytest.raises(
        ValueError,
        match=r"2 values of scale, and the design has 3 features "
        r"\(age, np.log\(dose\), C\(sex\)\[T.M\]\)",
    ):
        fit("y ~ age + np.log(dose) + C(sex)", patients, prior=Gaussian([1.0, 1.0]), sigma=1.0)


# The design's features, and prior values given by name in another order.
PATIENT_FEATURES = ["age", "np.log(dose)", "C(sex)[T.M]"]
BY_NAME = {"C(sex)[T.M]": 0.05, "age": 0.02, "np.log(dose)": 3.0}
MEANS_BY_NAME = {"np.log(dose)": 1.0, "C(sex)[T.M]": 0.5, "age": 0.0}


def test_a_prior_by_feature_name_fits_as_its_list_in_the_designs_order(patients):
    formula = "y ~ age + np.log(dose) + C(sex)"
    args = dict(sigma=0.5, method="nuts", sampler=Sampler(chains=1, warmup=100, draws=100))
    draws = {}
    for label, prior in {
        "by name": Gaussian(pd.Series(BY_NAME), mean=MEANS_BY_NAME),
        "list": Gaussian(
            [BY_NAME[f] for f in PATIENT_FEATURES],
            mean=[MEANS_BY_NAME[f] for f in PATIENT_FEATURES],
        ),
        # The same numbers read by position in the dict's order: another model.
        "misread": Gaussian(list(BY_NAME.values()), mean=list(MEANS_BY_NAME.values())),
    }.items():
        model = fit(formula, patients, prior=prior, progress=False, **args)
        draws[label] = model.tree["posterior"]["w"].values
    np.testing.assert_array_equal(draws["by name"], draws["list"])
    assert np.abs(draws["misread"] - draws["list"]).max() > 0.1


def test_a_prior_by_feature_name_has_the_closed_form_mode(patients):
    # The MAP under w_j ~ N(m_j, s_j²), a flat intercept and a known sigma solves the normal
    # equations with the prior's precision added, written out here.
    X = pd.DataFrame(
        {
            "age": patients.age,
            "np.log(dose)": np.log(patients.dose),
            "C(sex)[T.M]": (patients.sex == "M").astype(float),
        }
    )
    y, sigma = patients.y.to_numpy(), 0.5
    mode = posterior_mode(X, y, Gaussian(BY_NAME, mean=pd.Series(MEANS_BY_NAME)), sigma=sigma)
    s = np.array([BY_NAME[f] for f in PATIENT_FEATURES])
    m = np.array([MEANS_BY_NAME[f] for f in PATIENT_FEATURES])
    A = np.column_stack([np.ones(len(y)), X.to_numpy()])
    precision = A.T @ A / sigma**2 + np.diag(np.r_[0.0, s**-2])
    exact = np.linalg.solve(precision, A.T @ y / sigma**2 + np.r_[0.0, m / s**2])
    np.testing.assert_allclose(np.r_[mode["b"], mode["w"]], exact, rtol=1e-6)


def test_a_prior_by_feature_name_is_checked_against_the_design_before_computing(
    patients, no_compute
):
    misspelt = Gaussian({"age": 1.0, "log(dose)": 1.0, "C(sex)[T.M]": 1.0})
    with pytest.raises(ValueError, match=r"'log\(dose\)' \(did you mean 'np.log\(dose\)'\?\)"):
        fit("y ~ age + np.log(dose) + C(sex)", patients, prior=misspelt, sigma=1.0)
    # An array has no names to match; its DataFrame, or feature_names, has.
    X, y = patients[["age", "dose"]], patients.y
    prior = Gaussian({"dose": 1.0, "age": 2.0})
    with pytest.raises(ValueError, match="X's 2 columns have no names"):
        sample_posterior(X.to_numpy(), y, prior=prior, sigma=1.0, progress=False)
    with pytest.raises(ValueError, match="X's 2 columns have no names"):
        posterior_mode(X.to_numpy(), y, prior, sigma=1.0)
    # The intercept takes one scale, by name or not.
    with pytest.raises(ValueError, match="the intercept's prior takes one scale"):
        sample_posterior(X, y, prior=prior, sigma=1.0, intercept=Gaussian({"b": 1.0}))


@pytest.mark.parametrize("method", ["exact", "nuts"])
def test_a_data_frame_names_the_features_of_an_array_fit(patients, method):
    X, y = patients[["age", "dose"]], patients["y"]
    sampler = EXACT if method == "exact" else Sampler(chains=1, warmup=20, draws=20)
    args = dict(prior=Gaussian(1.0), sigma=1.0, method=method, sampler=sampler, progress=False)
    post = sample_posterior(X, y, **args)
    assert list(post.tree["posterior"]["w"].feature.values) == ["age", "dose"]
    # Names given win; an array has none.
    post = sample_posterior(X, y, feature_names=["a", "d"], **args)
    assert list(post.tree["posterior"]["w"].feature.values) == ["a", "d"]
    post = sample_posterior(X.to_numpy(), y, **args)
    assert list(post.tree["posterior"]["w"].feature.values) == ["x0", "x1"]


@pytest.mark.parametrize("sampler", [EXACT, Sampler(chains=2, warmup=100, draws=100)])
def test_a_saved_fit_read_back_answers_as_before(patients, sampler, tmp_path):
    model = fit(
        "y ~ age + np.log(dose) + C(sex)",
        patients.iloc[:100],
        prior=Gaussian(1.0),
        sigma=0.5 if sampler is EXACT else HalfCauchy(1.0),
        standardize=True,
        id="id",
        sampler=sampler,
        progress=False,
    )
    path = tmp_path / "fit.nc"
    model.tree.to_netcdf(path, engine="h5netcdf")
    again = Fit.from_tree(xr.open_datatree(path, engine="h5netcdf"))
    new = patients.iloc[100:]
    pd.testing.assert_frame_equal(again.predict(new, seed=3), model.predict(new, seed=3))
    pd.testing.assert_frame_equal(again.coefficients(), model.coefficients())
    assert again.score(new) == model.score(new)
    assert again.posterior.exact == model.posterior.exact == (sampler is EXACT)
    assert again.posterior.diagnostics.max_rhat == model.posterior.diagnostics.max_rhat
    kind = "4 chains x 1000 exact draws" if sampler is EXACT else "2 chains x 100 draws"
    assert (
        repr(again)
        == repr(model)
        == (f"Fit(y ~ age + np.log(dose) + C(sex), gaussian, {kind}, 3 features)")
    )
    with pytest.raises(ValueError, match="the tree holds no design"):
        Fit.from_tree(
            sample_posterior(
                np.ones((4, 1)), np.arange(4.0), prior=Gaussian(1.0), sigma=1.0, progress=False
            ).tree
        )


def test_coefficients_refuse_a_coverage_outside_the_unit_interval(patients):
    model = fit("y ~ age", patients, prior=Gaussian(1.0), sigma=1.0, sampler=EXACT, progress=False)
    assert model.coefficients(coverage=0.5).shape == (2, 4)
    with pytest.raises(ValueError, match=r"coverage must lie in \(0, 1\), got 2.0"):
        model.coefficients(coverage=2)


def test_formula_fit_refuses_an_exposure_outside_a_count_model(patients, no_compute):
    message = r"an exposure \('dose'\) multiplies the mean of a log-link model .*'gamma'"
    with pytest.raises(ValueError, match=message):
        fit("y ~ age", patients, prior=Gaussian(1.0), sigma=1.0, exposure="dose")


def test_a_sampler_setting_given_to_fit_says_where_it_goes(patients, no_compute):
    with pytest.raises(
        TypeError, match=r"chains is a setting of the sampler: give sampler=Sampler"
    ):
        fit("y ~ age", patients, prior=Gaussian(1.0), sigma=1.0, chains=2)


def test_stored_posterior_predictive_replays_the_draws_of_a_centred_fit():
    """A wide prior on informative data: "auto" samples w centred, and the tree's replicated
    data must come from those very draws (they once came from a non-centred replay, 25×
    too wide)."""
    rng = np.random.default_rng(8)
    X = rng.normal(size=(200, 3))
    y = X @ [2.0, -1.0, 0.5] + 1.0 + rng.normal(size=200)
    post = sample_posterior(
        X,
        y,
        prior=Gaussian(25.0),
        sigma=HalfCauchy(2.0),
        sampler=Sampler(chains=2, warmup=300, draws=500),
        progress=False,
    )
    replicated = post.tree["posterior_predictive"]["y"].values.reshape(1000, 200)
    expected = predict(post, X)
    # 1000 draws per row: each row's replicated mean within 5 Monte Carlo sds.
    se = expected["sd"].values / np.sqrt(1000)
    np.testing.assert_array_less(np.abs(replicated.mean(0) - expected["mean"].values), 5 * se)
    np.testing.assert_allclose(replicated.std(0).mean(), expected["sd"].values.mean(), rtol=0.05)
