"""Sample weights: each row's log likelihood times its weight, in every path (the model's three
forms of the likelihood, the closed forms, the modes, NUTS, the scikit-learn drop-ins).
Whole-number weights are checked against the rows repeated; fractional ones against
scikit-learn's weighted fits and statsmodels' frequency-weighted GLM."""

import numpy as np
import pandas as pd
import pytest
import sklearn.linear_model as sk
import statsmodels.api as sm
from helpers import mcse
from numpyro.infer.util import log_density
from scipy import stats

import bayes_reg as br
from bayes_reg.linear.exact import exact_posterior, nig_posterior
from bayes_reg.linear.gram import Gram
from bayes_reg.linear.map import map_estimate, posterior_mode
from bayes_reg.linear.posterior import run_nuts, sample_posterior
from bayes_reg.linear.regression import linear_regression
from bayes_reg.sklearn import ElasticNet, Lasso, LogisticRegression, PoissonRegressor, Ridge

RNG = np.random.default_rng(7)
X = RNG.normal(size=(30, 3))
Y = X @ [1.0, -1.0, 0.5] + 2.0 + RNG.normal(size=30)
WHOLE = RNG.integers(0, 4, size=30).astype(float)  # 0 leaves a row out, 3 counts it three times
FRACTIONAL = RNG.uniform(0.0, 3.0, size=30)
FRACTIONAL[:4] = 0.0

TARGETS = {
    "gaussian": Y,
    "student-t": Y,
    "bernoulli": (Y > 2.0).astype(float),
    "poisson": np.round(np.abs(Y)),
    "negative-binomial": np.round(np.abs(Y)),
}


def _repeated(*arrays):
    return [np.repeat(a, WHOLE.astype(int), axis=0) for a in arrays]


@pytest.mark.parametrize("likelihood", list(TARGETS))
def test_the_models_log_density_is_the_repeated_rows_one(likelihood):
    y = TARGETS[likelihood]
    noisy = likelihood in ("gaussian", "student-t", "negative-binomial")
    kwargs = {
        "prior": br.Gaussian(1.0),
        "sigma": br.HalfCauchy(2.0) if noisy else None,
        "likelihood": likelihood,
        "parametrization": "direct",
    }
    params = {"w": np.array([0.3, -0.2, 0.1]), "b": np.array(1.0)}
    params |= {"sigma": np.array(1.3)} if noisy else {}
    reference = log_density(linear_regression, _repeated(X, y), kwargs, params)[0]
    # Row by row (site y, for predictions), summed (NUTS), and the Gaussian's statistics.
    forms = [False, True] + ([Gram.of(X, y, WHOLE)] if likelihood == "gaussian" else [])
    for summed in forms:
        weighted = kwargs | {"summed": summed, "sample_weight": WHOLE}
        value = log_density(linear_regression, (X, y), weighted, params)[0]
        assert float(value) == pytest.approx(float(reference), rel=1e-12), summed


def test_the_closed_forms_are_the_repeated_rows_ones():
    Xr, yr = _repeated(X, Y)
    ours = exact_posterior(X, Y, prior_scale=1.0, sigma=0.8, sample_weight=WHOLE)
    theirs = exact_posterior(Xr, yr, prior_scale=1.0, sigma=0.8)
    np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-10)
    np.testing.assert_allclose(ours.cov, theirs.cov, rtol=1e-10)
    ours = nig_posterior(X, Y, prior_scale=1.0, concentration=2.0, rate=1.0, sample_weight=WHOLE)
    theirs = nig_posterior(Xr, yr, prior_scale=1.0, concentration=2.0, rate=1.0)
    np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-10)
    assert ours.concentration == theirs.concentration == 2.0 + (WHOLE.sum() - 1) / 2
    assert ours.rate == pytest.approx(theirs.rate, rel=1e-10)


MODES = {
    "ridge": ("gaussian", br.Gaussian(1.0), {"sigma": 1.0}),  # closed form
    "lasso": ("gaussian", br.Laplace(0.3), {"sigma": 1.0}),  # coordinate descent
    "elastic-net": ("gaussian", br.ElasticNet(0.5, 0.3), {"sigma": 1.0}),
    "lasso, intercept prior": (  # the proximal method
        "gaussian",
        br.Laplace(0.3),
        {"sigma": 1.0, "intercept": br.Gaussian(3.0)},
    ),
    "logistic": ("bernoulli", br.Gaussian(1.0), {}),  # L-BFGS
    "logistic lasso": ("bernoulli", br.Laplace(0.5), {}),
    "poisson lasso": ("poisson", br.Laplace(0.5), {}),
    "negative binomial lasso": ("negative-binomial", br.Laplace(0.5), {"sigma": 0.5}),
    "negative binomial, sampled noise": (
        "negative-binomial",
        br.Gaussian(1.0),
        {"sigma": br.HalfNormal(1.0)},
    ),
    "sampled noise": ("gaussian", br.Gaussian(1.0), {"sigma": br.HalfCauchy(2.0)}),
}


@pytest.mark.parametrize("name", list(MODES))
def test_the_modes_are_the_repeated_rows_ones(name):
    likelihood, prior, kwargs = MODES[name]
    y = TARGETS[likelihood]
    ours = posterior_mode(X, y, prior, likelihood=likelihood, sample_weight=WHOLE, **kwargs)
    theirs = posterior_mode(*_repeated(X, y), prior, likelihood=likelihood, **kwargs)
    assert ours.keys() == theirs.keys()
    for site in ours:
        np.testing.assert_allclose(ours[site], theirs[site], rtol=1e-8, atol=1e-10)


def test_map_estimate_takes_the_weights_too():
    ours = map_estimate(X, Y, br.Laplace(0.3), 1.0, sample_weight=WHOLE)
    theirs = map_estimate(*_repeated(X, Y), br.Laplace(0.3), 1.0)
    np.testing.assert_allclose(ours.w, theirs.w, rtol=1e-8)


def test_nuts_samples_the_weighted_posterior_and_keeps_each_rows_own_density():
    sampler = br.Sampler(chains=2, warmup=500, draws=1000)
    kwargs = {"prior": br.Gaussian(1.0), "sigma": 0.8, "sample_weight": FRACTIONAL}
    tree = run_nuts(linear_regression, X, Y, sampler=sampler, progress=False, **kwargs).tree
    exact = exact_posterior(X, Y, prior_scale=1.0, sigma=0.8, sample_weight=FRACTIONAL)
    for site, mean, sd in [("b", exact.b_mean, exact.b_sd), ("w", exact.w_mean, exact.w_sd)]:
        draws = tree["posterior"][site].values
        assert np.all(np.abs(draws.mean((0, 1)) - mean) < 4 * mcse(draws)), site
        np.testing.assert_allclose(draws.std((0, 1)), sd, rtol=0.1)
    np.testing.assert_array_equal(tree["constant_data"]["sample_weight"].values, FRACTIONAL)
    # The pointwise log likelihood (LOO's input) is each row's own density, unweighted.
    w, b = tree["posterior"]["w"].values[0, :3], tree["posterior"]["b"].values[0, :3]
    own = stats.norm.logpdf(Y, w @ X.T + b[:, None], 0.8)
    np.testing.assert_allclose(tree["log_likelihood"]["y"].values[0, :3], own, rtol=1e-12)


def test_the_exact_draws_take_the_weights():
    post = sample_posterior(X, Y, prior=br.Gaussian(1.0), sigma=0.8, sample_weight=FRACTIONAL)
    exact = exact_posterior(X, Y, prior_scale=1.0, sigma=0.8, sample_weight=FRACTIONAL)
    assert post.exact
    draws = post.tree["posterior"]["w"].values
    assert np.all(np.abs(draws.mean((0, 1)) - exact.w_mean) < 4 * mcse(draws))


ENTRY_POINTS = {
    "map_estimate": lambda s: map_estimate(X, Y, br.Gaussian(1.0), 1.0, sample_weight=s),
    "posterior_mode": lambda s: posterior_mode(X, Y, br.Laplace(1.0), sigma=1.0, sample_weight=s),
    "sample_posterior": lambda s: sample_posterior(
        X, Y, prior=br.Gaussian(1.0), sigma=1.0, sample_weight=s
    ),
    "run_nuts": lambda s: run_nuts(
        linear_regression, X, Y, prior=br.Laplace(1.0), sigma=1.0, sample_weight=s
    ),
    "exact_posterior": lambda s: exact_posterior(X, Y, prior_scale=1.0, sigma=1.0, sample_weight=s),
    "Ridge.fit": lambda s: Ridge().fit(X, Y, sample_weight=s),
}
BAD_WEIGHTS = [
    (-FRACTIONAL, r"sample_weight must be >= 0, got -[\d.]+ at row 4"),
    (np.ones(29), r"sample_weight must have shape \(30,\) \(one weight per row\), got \(29,\)"),
    (np.where(WHOLE > 0, np.nan, 1.0), r"sample_weight must be finite"),
    (np.zeros(30), r"sample_weight is zero for every row"),
]


@pytest.mark.parametrize("weights, message", BAD_WEIGHTS, ids=["negative", "short", "nan", "0"])
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_bad_weights_are_refused_before_any_computation(entry, weights, message, no_compute):
    with pytest.raises(ValueError, match=message):
        ENTRY_POINTS[entry](weights)


def test_a_row_of_weight_zero_must_still_hold_a_possible_value(no_compute):
    # Its density is computed, and 0 times an impossible value's -inf is NaN.
    y = TARGETS["bernoulli"].copy()
    y[0] = 2.0
    weights = np.where(np.arange(30) == 0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"the bernoulli likelihood needs y in \{0, 1\}, got 2"):
        posterior_mode(X, y, br.Gaussian(1.0), likelihood="bernoulli", sample_weight=weights)


# --- the scikit-learn drop-ins ------------------------------------------------------------------

COUNTS = np.round(np.abs(Y)).astype(float)
CLASSES = (Y > 2.0).astype(int)
TIGHT = {"tol": 1e-14, "max_iter": 1_000_000}
BUDGET = {"chains": 1, "warmup": 100, "draws": 100}
# ours, scikit-learn's, target. The posterior of a smooth prior through the Laplace
# approximation: the MAP is the claim here, and NUTS would compile one program per case.
DROP_INS = {
    "ridge": (Ridge(alpha=3.0), sk.Ridge(alpha=3.0), Y),
    "lasso": (Lasso(alpha=0.1, **BUDGET), sk.Lasso(alpha=0.1, **TIGHT), Y),
    "logistic": (
        LogisticRegression(C=0.5, method="laplace"),
        sk.LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-14),
        CLASSES,
    ),
    "poisson": (
        PoissonRegressor(alpha=0.1, method="laplace"),
        sk.PoissonRegressor(alpha=0.1, solver="newton-cholesky", tol=1e-14, max_iter=1000),
        COUNTS,
    ),
}
SLOW_DROP_INS = {
    "elasticnet": (
        ElasticNet(alpha=0.1, l1_ratio=0.4, **BUDGET),
        sk.ElasticNet(alpha=0.1, l1_ratio=0.4, **TIGHT),
        Y,
    ),
    "logistic-l1": (
        LogisticRegression(C=0.5, l1_ratio=1.0, **BUDGET),
        sk.LogisticRegression(C=0.5, l1_ratio=1.0, solver="saga", tol=1e-14, max_iter=100_000),
        CLASSES,
    ),
}


@pytest.mark.parametrize(
    "name",
    list(DROP_INS) + [pytest.param(name, marks=pytest.mark.slow) for name in SLOW_DROP_INS],
)
def test_the_drop_ins_fit_sklearns_weighted_fit(name):
    # Fractional weights, and four rows of weight 0 (scikit-learn's Lasso rescales the
    # weights to sum to the rows: the same objective as the weights' sum for n here).
    ours, theirs, y = (DROP_INS | SLOW_DROP_INS)[name]
    ours.fit(X, y, sample_weight=FRACTIONAL)
    theirs.fit(X, y, sample_weight=FRACTIONAL)
    ours_fit = np.append(np.ravel(ours.coef_), ours.intercept_)
    their_fit = np.append(np.ravel(theirs.coef_), theirs.intercept_)
    np.testing.assert_allclose(ours_fit, their_fit, rtol=0, atol=1e-6 * np.abs(their_fit).max())
    # Rows of weight 0 are left out of the posterior; the others keep their weights.
    kept = ours.posterior_["constant_data"]
    assert kept.sizes["obs"] == 26
    if "sample_weight" in kept:  # the Laplace approximation keeps no data
        np.testing.assert_array_equal(kept["sample_weight"].values, FRACTIONAL[4:])


def test_the_estimated_noise_is_statsmodels_frequency_weighted_scale():
    # A ridge this weak is least squares; statsmodels' GLM with freq_weights divides the
    # weighted RSS by the weights' sum minus the coefficients.
    ours = Ridge(alpha=1e-10).fit(X, Y, sample_weight=FRACTIONAL)
    glm = sm.GLM(Y, sm.add_constant(X), family=sm.families.Gaussian(), freq_weights=FRACTIONAL)
    assert ours.noise_ == pytest.approx(np.sqrt(glm.fit().scale), rel=1e-8)


def test_whole_number_weights_are_the_rows_repeated_in_the_noise_too():
    ours = Lasso(alpha=0.1, **BUDGET).fit(X, Y, sample_weight=WHOLE)
    repeated = Lasso(alpha=0.1, **BUDGET).fit(*_repeated(X, Y))
    np.testing.assert_allclose(ours.coef_, repeated.coef_, rtol=1e-8)
    assert ours.noise_ == pytest.approx(repeated.noise_, rel=1e-8)


def test_a_drop_in_needs_two_rows_of_weight_above_zero(no_compute):
    weights = np.where(np.arange(30) == 3, 2.0, 0.0)
    with pytest.raises(ValueError, match=r"sample_weight is above zero for 1 row: at least 2"):
        Ridge().fit(X, Y, sample_weight=weights)


def test_weights_of_one_are_no_weights():
    ours = Ridge(alpha=3.0).fit(X, Y, sample_weight=np.ones(30))
    plain = Ridge(alpha=3.0).fit(X, Y)
    np.testing.assert_array_equal(ours.predict(X), plain.predict(X))
    assert "sample_weight" not in ours.posterior_["constant_data"]


# --- a weight column of a table (bayes_reg.fit, design_matrix) -------------------------------


def _table():
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": Y, "w": FRACTIONAL})


def test_a_weight_column_fits_as_the_weights_array():
    frame = _table()
    ours = br.fit("y ~ .", frame, prior=br.Gaussian(1.0), sigma=0.8, sample_weight="w")
    theirs = sample_posterior(X, Y, prior=br.Gaussian(1.0), sigma=0.8, sample_weight=FRACTIONAL)
    assert ours.design.features == ("a", "b", "c")  # the dot leaves the weights out
    for site in ("w", "b"):
        np.testing.assert_array_equal(
            ours.tree["posterior"][site].values, theirs.tree["posterior"][site].values
        )
    np.testing.assert_array_equal(ours.tree["constant_data"]["sample_weight"].values, FRACTIONAL)


def test_standardising_a_weighted_table_standardises_the_rows_repeated(tmp_path):
    from bayes_reg.run.card import load_card
    from bayes_reg.run.sources import load_data

    frame = _table().assign(w=WHOLE)
    repeated = frame.loc[frame.index.repeat(WHOLE.astype(int))].drop(columns="w")
    kwargs = {"prior": br.Gaussian(1.0), "sigma": 0.8, "standardize": True}
    ours = br.fit("y ~ a + b + c", frame, sample_weight="w", **kwargs)
    theirs = br.fit("y ~ a + b + c", repeated, **kwargs)
    X_repeated = _repeated(X)[0]
    np.testing.assert_allclose(ours.design.x_mean, X_repeated.mean(0), rtol=1e-13)
    np.testing.assert_allclose(ours.design.x_sd, X_repeated.std(0), rtol=1e-13)
    # The prior sits on the same columns, so the exact posterior is the rows repeated one.
    np.testing.assert_allclose(
        ours.tree["posterior"]["w"].values, theirs.tree["posterior"]["w"].values, atol=1e-12
    )
    # A card reads its table through the same design.
    frame.to_csv(tmp_path / "rows.csv", index=False)
    card = CARD.replace('sample_weight = "w"', 'sample_weight = "w"\nstandardize = true')
    (tmp_path / "card.toml").write_text(card)
    data = load_data(load_card(tmp_path / "card.toml"))
    np.testing.assert_allclose(data.X, (X - X_repeated.mean(0)) / X_repeated.std(0), rtol=1e-12)


def test_a_missing_weight_is_refused_or_its_row_dropped():
    frame = _table()
    frame.loc[3, "w"] = np.nan
    with pytest.raises(ValueError, match=r"row 3, column 'w': missing value"):
        br.design_matrix(frame, "y ~ a", sample_weight="w")
    table = br.design_matrix(frame, "y ~ a", sample_weight="w", missing="drop")
    assert table.dropped == [3]
    np.testing.assert_array_equal(table.sample_weight, np.delete(FRACTIONAL, 3))


@pytest.mark.parametrize(
    "change, formula, message",
    [
        ({"w": -FRACTIONAL}, "y ~ a", r"row 4, column 'w': weight -[\d.]+ \(a sample weight is"),
        # pandas 3 reads text as its "str" dtype, pandas 2 as object
        ({"w": "heavy"}, "y ~ a", r"sample_weight column 'w' must hold numbers, got (str|object)"),
        ({"w": True}, "y ~ a", r"sample_weight column 'w' must hold numbers, got bool"),
        ({"w": 0.0}, "y ~ a", r"sample_weight column 'w' is zero in every row"),
        ({}, "y ~ a + w", r"sample_weight column 'w' weights the rows and is not read by the"),
        ({}, "w ~ a", r"sample_weight column 'w' weights the rows"),
    ],
)
def test_a_bad_weight_column_is_refused_in_words(change, formula, message):
    with pytest.raises(ValueError, match=message):
        br.design_matrix(_table().assign(**change), formula, sample_weight="w")


def test_the_weights_of_a_table_are_named_by_their_column():
    with pytest.raises(ValueError, match=r"sample_weight column 'v' is not in the table"):
        br.fit("y ~ a", _table(), prior=br.Gaussian(1.0), sigma=1.0, sample_weight="v")
    with pytest.raises(TypeError, match=r"data.assign\(w=weights\), and give sample_weight='w'"):
        br.fit("y ~ a", _table(), prior=br.Gaussian(1.0), sigma=1.0, sample_weight=FRACTIONAL)


def test_a_flat_prior_counts_only_the_rows_of_weight_above_zero(no_compute):
    # Three rows of weight > 0 cannot identify an intercept and three coefficients.
    weights = np.where(np.arange(30) < 3, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"a flat prior on 4 coefficients needs a design of full"):
        sample_posterior(X, Y, prior=br.Flat(), sigma=1.0, sample_weight=weights)


# --- a card's weight column ---------------------------------------------------------------------

CARD = """
title = "weighted"
[data]
source = "csv:rows.csv"
formula = "y ~ a + b + c"
sample_weight = "w"
[model]
sigma = 0.8
[prior]
convention = "sklearn-lasso"
strength = 0.05
[posterior]
chains = 1
warmup = 100
draws = 100
"""


def test_a_cards_weight_column_weights_its_map_and_posterior(tmp_path):
    from bayes_reg.run.card import load_card
    from bayes_reg.run.stages import run_card

    _table().to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "card.toml").write_text(CARD)
    result = run_card(load_card(tmp_path / "card.toml"), progress=False, log=lambda m: 0)
    # The penalty's row count is the weights' sum, as in the drop-ins: its MAP is
    # scikit-learn's weighted lasso at sigma 0.8 (its alpha is the card's strength).
    theirs = sk.Lasso(alpha=0.05, **TIGHT).fit(X, Y, sample_weight=FRACTIONAL)
    np.testing.assert_allclose(result.summary["map"]["w"], theirs.coef_, rtol=1e-6)
    assert result.summary["map"]["b"] == pytest.approx(theirs.intercept_, rel=1e-6)
    assert result.summary["sample_weight"] == "w"
    intro = result.sections[0][1]
    assert f"weighted by its sample weight (sum {FRACTIONAL.sum():.6g} over 30 rows)" in intro
    # The weights as pandas reads the file (pandas 2's default parser is not exact to the last
    # bit: 5 of these 30 came back 1 ulp off under pandas 2.2).
    read = pd.read_csv(tmp_path / "rows.csv", skipinitialspace=True)["w"].to_numpy()
    np.testing.assert_array_equal(result.tree["constant_data"]["sample_weight"], read)


def test_a_card_refuses_weights_beside_the_unweighted_sgd_comparison(tmp_path):
    from bayes_reg.run.card import CardError, load_card

    _table().to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "card.toml").write_text(CARD + "[compare]\nstrengths = [0.1]\n")
    with pytest.raises(CardError, match=r"\[compare\]: the SGD comparison trains unweighted"):
        load_card(tmp_path / "card.toml")
