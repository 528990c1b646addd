"""Hostile input: every public entry point refuses bad input before computing anything.

A refusal is a ValueError or TypeError whose message names the field, the value and the
rule. Valid but numerically hard problems (d >> n, collinear columns, targets from 1e-3 to
1e6, float32) must still give finite, correct answers. NUTS itself never runs here: its input
checks come before sampling.

Constant columns, decided per function:

- ``map_estimate``, ``exact_posterior``, ``sgd_path``, ``log_evidence``, ``choose_strength``:
  legal. The unpenalised intercept absorbs a constant column; the MAP gives it weight 0 (for
  Laplace exactly 0) and the exact posterior leaves it at its prior, N(0, prior_scale²).
- ``fit_evidence`` and ``best_prior_scale``: one constant column is legal; when *every*
  column is constant (or ``y`` is) the evidence no longer identifies the scale, so they refuse
  and name the columns.
- ``compare_path``, ``map_gap``: their relative distance to the MAP divides by ‖w_map‖,
  which is 0 for a constant ``y`` or all-constant ``X``: refused. ``nearest_map`` refuses
  ``w = 0`` for the same reason.
"""

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge

import bayes_reg as br
from bayes_reg import cli
from bayes_reg.compare import choose_strength, compare_path, map_gap, nearest_map

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAN, INF = float("nan"), float("inf")


def _data(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ np.arange(1.0, d + 1) + 0.1 * rng.normal(size=n)


X0, Y0 = _data()
PATH = br.sgd_path(X0, Y0, [0.0, 1.0], lr=0.05, epochs=3, batch_size=4, record_weights=True)
DROPOUT_NET = br.train_dropout(X0, Y0, tau=1.0, hidden=(4,), epochs=2, progress=False)


@pytest.fixture
def no_compute(monkeypatch):
    """Every solver, sampler and training loop fails the test if it is reached."""

    def forbidden(*args, **kwargs):
        raise AssertionError("computation started before the input was checked")

    for module, names in [
        ("bayes_reg.map", ["_ridge", "_coordinate_descent"]),
        ("bayes_reg.exact", ["_posterior", "_log_evidence", "_maximise"]),
        ("bayes_reg.sgd", ["_path"]),
        ("bayes_reg._nuts", ["sample"]),
        ("bayes_reg.dropout", ["_train_runs", "_mc_runs"]),
    ]:
        for name in names:
            monkeypatch.setattr(f"{module}.{name}", forbidden)


# --- bad data, for every entry point that takes X and y -------------------------------------

ENTRY_POINTS = {
    "map_estimate-gaussian": lambda X, y: br.map_estimate(X, y, br.Gaussian(1.0), 1.0),
    "map_estimate-laplace": lambda X, y: br.map_estimate(X, y, br.Laplace(1.0), 1.0),
    "exact_posterior": lambda X, y: br.exact_posterior(X, y, prior_scale=1.0, sigma=1.0),
    "log_evidence": lambda X, y: br.log_evidence(X, y, prior_scale=1.0, sigma=1.0),
    "fit_evidence": lambda X, y: br.fit_evidence(X, y),
    "best_prior_scale": lambda X, y: br.best_prior_scale(X, y, sigma=1.0),
    "sgd_path": lambda X, y: br.sgd_path(X, y, [0.1], lr=0.01, epochs=1, batch_size=1),
    "choose_strength": lambda X, y: choose_strength(X, y, [1.0], sigma=1.0, X_val=X, y_val=y),
    "compare_path": lambda X, y: compare_path(PATH, X, y, sigma=1.0),
    "map_gap": lambda X, y: map_gap(PATH, X, y),
    "nearest_map": lambda X, y: nearest_map(X, y, np.ones(3)),
    "sample_posterior": lambda X, y: br.sample_posterior(
        X, y, prior=br.Gaussian(1.0), sigma=1.0, chains=1, draws=5, progress=False
    ),
    "run_nuts": lambda X, y: br.run_nuts(
        br.linear_regression, X, y, prior=br.Gaussian(1.0), sigma=1.0, progress=False
    ),
    "train_dropout": lambda X, y: br.train_dropout(X, y, tau=1.0, epochs=1, progress=False),
    "bnn_posterior": lambda X, y: br.bnn_posterior(
        X, y, X0, tau=1.0, weight_decay=1e-3, hidden=(4,), progress=False
    ),
    "dropout_vs_posterior": lambda X, y: br.dropout_vs_posterior(
        X, y, X0, Y0, tau=1.0, hidden=(4,), progress=False
    ),
}


def _with(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


BAD_DATA = {
    "nan-in-X": (
        _with(X0, (4, 2), NAN),
        Y0,
        r"X must be finite: 1 NaN or infinite value\(s\), the first at index \(4, 2\)",
    ),
    "inf-in-X": (_with(X0, (0, 0), -INF), Y0, r"X must be finite: .* index \(0, 0\)"),
    "nan-in-y": (X0, _with(Y0, 3, NAN), r"y must be finite: .* index \(3,\)"),
    "inf-in-y": (X0, _with(Y0, 0, INF), r"y must be finite"),
    "rows-mismatch": (np.ones((100, 3)), np.ones(99), "X has 100 rows but y has 99"),
    "zero-rows": (np.ones((0, 3)), np.ones(0), "X has 0 rows; at least [12] (are|is) needed"),
    "zero-columns": (np.ones((12, 0)), Y0, "X has no columns"),
    "empty-1d": (np.array([]), np.array([]), r"X must be 2-D .* got shape \(0,\)"),
    "X-1d": (np.ones(12), Y0, r"X must be 2-D \(n_samples, n_features\), got shape \(12,\)"),
    "y-2d": (X0, Y0[:, None], r"y must be 1-D \(n_samples,\), got shape \(12, 1\)"),
    "X-object": (X0.astype(object), Y0, "X must be numeric, got dtype object"),
    "X-str": (X0.astype(str), Y0, "X must be numeric, got dtype <U"),
    "y-str": (X0, Y0.astype(str), "y must be numeric, got dtype <U"),
    "X-complex": (X0 + 0j, Y0, "X must be numeric, got dtype complex128"),
    "X-ragged": ([[1.0, 2.0, 3.0], [1.0]], [1.0, 2.0], "X must be a rectangular numeric array"),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_bad_data_is_refused_before_computing(entry, case, no_compute):
    X, y, message = BAD_DATA[case]
    if entry == "exact_posterior" and case == "zero-rows":
        message = "X has 0 rows; at least 1 are needed"
    with pytest.raises((ValueError, TypeError), match=message):
        ENTRY_POINTS[entry](X, y)


@pytest.mark.parametrize("entry", [e for e in ENTRY_POINTS if e != "exact_posterior"])
def test_a_single_row_is_refused(entry, no_compute):
    with pytest.raises(ValueError, match="X has 1 rows; at least 2 are needed"):
        ENTRY_POINTS[entry](X0[:1], Y0[:1])


def test_a_single_row_is_a_proper_posterior():
    # With a Gaussian prior on w and a flat intercept, one row still gives a proper posterior.
    post = br.exact_posterior(X0[:1], Y0[:1], prior_scale=1.0, sigma=1.0)
    assert np.all(np.isfinite(post.mean)) and np.all(np.isfinite(post.cov))


def test_held_out_sets_are_checked_and_named(no_compute):
    fit = dict(lr=0.01, epochs=1, batch_size=1)
    with pytest.raises(ValueError, match="X_test has 12 rows but y_test has 5"):
        br.sgd_path(X0, Y0, [0.1], X_test=X0, y_test=Y0[:5], **fit)
    with pytest.raises(ValueError, match="X_test has 2 columns but X has 3"):
        br.sgd_path(X0, Y0, [0.1], X_test=X0[:, :2], y_test=Y0, **fit)
    with pytest.raises(ValueError, match="X_test must be finite"):
        br.sgd_path(X0, Y0, [0.1], X_test=_with(X0, (1, 1), NAN), y_test=Y0, **fit)
    with pytest.raises(ValueError, match="X_val has 2 columns but X has 3"):
        choose_strength(X0, Y0, [1.0], sigma=1.0, X_val=X0[:, :2], y_val=Y0)
    with pytest.raises(ValueError, match="y_val must be finite"):
        choose_strength(X0, Y0, [1.0], sigma=1.0, X_val=X0, y_val=_with(Y0, 2, INF))
    with pytest.raises(ValueError, match="X_test and y_test must be given together"):
        choose_strength(X0, Y0, [1.0], sigma=1.0, X_val=X0, y_val=Y0, X_test=X0)
    with pytest.raises(ValueError, match="X_test has 2 columns but X has 3"):
        compare_path(PATH, X0, Y0, sigma=1.0, X_test=X0[:, :2], y_test=Y0)
    with pytest.raises(ValueError, match="X_test and y_test must be given together"):
        compare_path(PATH, X0, Y0, sigma=1.0, X_test=X0)
    with pytest.raises(ValueError, match="path has 3 features but X has 2 columns"):
        compare_path(PATH, X0[:, :2], Y0, sigma=1.0)
    with pytest.raises(TypeError, match="path must be a result of sgd_path"):
        compare_path("path", X0, Y0, sigma=1.0)
    with pytest.raises(ValueError, match=r"strengths \[2.0\] are not in the path"):
        compare_path(PATH, X0, Y0, sigma=1.0, strengths=[2.0])
    with pytest.raises(ValueError, match=r"w must have shape \(3,\) .* got \(2,\)"):
        nearest_map(X0, Y0, np.ones(2))
    with pytest.raises(ValueError, match="feature_names has 2 entries but X has 3 columns"):
        br.run_nuts(
            br.linear_regression, X0, Y0, prior=br.Gaussian(1.0), sigma=1.0,
            feature_names=["a", "b"], progress=False,
        )  # fmt: skip


# --- constant columns and constant targets --------------------------------------------------


def _with_constant_column(value=3.0):
    return np.column_stack([X0, np.full(len(X0), value)])


def test_a_constant_column_is_legal_where_the_intercept_absorbs_it():
    Xc = _with_constant_column()
    ridge = br.map_estimate(Xc, Y0, br.Gaussian(1.0), 1.0)
    reference = Ridge(alpha=1.0).fit(Xc, Y0)
    np.testing.assert_allclose(ridge.w, reference.coef_, atol=1e-10)
    assert abs(float(ridge.w[-1])) < 1e-10
    lasso = br.map_estimate(Xc, Y0, br.Laplace(1.0), 1.0)
    assert float(lasso.w[-1]) == 0.0 and np.all(np.isfinite(lasso.w))
    # The exact posterior leaves the constant column's weight at its prior N(0, g²).
    post = br.exact_posterior(Xc, Y0, prior_scale=2.0, sigma=1.0)
    assert abs(float(post.w_mean[-1])) < 1e-8
    assert float(post.w_sd[-1]) == pytest.approx(2.0, rel=1e-8)
    path = br.sgd_path(Xc, Y0, [0.0, 1.0], lr=0.01, epochs=5, batch_size=4)
    assert np.all(np.isfinite(path.w.values))
    assert math.isfinite(br.log_evidence(Xc, Y0, prior_scale=1.0, sigma=1.0))
    assert br.fit_evidence(Xc, Y0).prior_scale > 0
    assert br.best_prior_scale(Xc, Y0, sigma=1.0) > 0


def test_all_constant_columns_or_a_constant_y_are_refused_where_undefined(no_compute):
    X_const = np.full((12, 2), 4.0)
    every = r"every column of X is constant \(columns 0, 1\)"
    with pytest.raises(ValueError, match=every + ".* prior scale"):
        br.best_prior_scale(X_const, Y0, sigma=1.0)
    with pytest.raises(ValueError, match=every):
        br.fit_evidence(X_const, Y0)
    flat = np.full(12, 2.5)
    with pytest.raises(ValueError, match=r"y is constant \(every value 2.5\)"):
        br.fit_evidence(X0, flat)
    with pytest.raises(ValueError, match=r"y is constant \(every value 2.5\)"):
        br.best_prior_scale(X0, flat, sigma=1.0)
    with pytest.raises(ValueError, match="y is constant .* distance to the MAP"):
        compare_path(PATH, X0, flat, sigma=1.0)
    with pytest.raises(ValueError, match="every column of X is constant .* distance to the MAP"):
        map_gap(PATH, np.full((12, 3), 1.0), Y0)
    with pytest.raises(ValueError, match="w is all zeros"):
        nearest_map(X0, Y0, np.zeros(3))


# --- bad numbers ----------------------------------------------------------------------------

BAD_POSITIVE = [
    (-1.0, r"must be > 0, got -1.0"),
    (0.0, r"must be > 0, got 0.0"),
    (NAN, r"must be finite, got nan"),
    (INF, r"must be finite, got inf"),
    (-INF, r"must be finite, got -inf"),
    (10**400, r"must be finite, got 1000"),
    ("abc", r"must be a number, got 'abc'"),
    (None, r"must be a number, got None"),
    (True, r"must be a number, got True"),
    ([1.0, 2.0], r"must be a number, got \[1.0, 2.0\]"),
]

# name -> a call taking the bad value; every one expects a finite number > 0.
POSITIVE_ARGS = {
    "strength": lambda v: br.to_prior("d2l", v, n=20, sigma=1.0),
    "sigma": lambda v: br.to_prior("d2l", 1.0, n=20, sigma=v),
    "sigma ": lambda v: br.to_penalty("d2l", br.Gaussian(1.0), n=20, sigma=v),
    "sigma  ": lambda v: br.convert(1.0, source="d2l", target="keras", n=20, sigma=v),
    "factor": lambda v: br.rescale_target("d2l", 1.0, v),
    "strength ": lambda v: br.rescale_rows("d2l", v, 10, 20),
    "scale": lambda v: br.Gaussian(v),
    "scale ": lambda v: br.Laplace(v),
    "gaussian_scale": lambda v: br.ElasticNet(v, 1.0),
    "laplace_scale": lambda v: br.ElasticNet(1.0, v),
    "scale  ": lambda v: br.prior_from_name("laplace", v),
    "sigma   ": lambda v: br.map_estimate(X0, Y0, br.Gaussian(1.0), v),
    "prior_scale": lambda v: br.exact_posterior(X0, Y0, prior_scale=v, sigma=1.0),
    "sigma    ": lambda v: br.exact_posterior(X0, Y0, prior_scale=1.0, sigma=v),
    "intercept_scale": lambda v: br.exact_posterior(
        X0, Y0, prior_scale=1.0, sigma=1.0, intercept_scale=v
    ),
    "prior_scale ": lambda v: br.log_evidence(X0, Y0, prior_scale=v, sigma=1.0),
    "sigma     ": lambda v: br.log_evidence(X0, Y0, prior_scale=1.0, sigma=v),
    "sigma      ": lambda v: br.best_prior_scale(X0, Y0, sigma=v),
    "lr": lambda v: br.sgd_path(X0, Y0, [0.1], lr=v, epochs=1, batch_size=1),
    "sigma       ": lambda v: choose_strength(X0, Y0, [1.0], sigma=v, X_val=X0, y_val=Y0),
    "sigma        ": lambda v: compare_path(PATH, X0, Y0, sigma=v),
    "sigma         ": lambda v: br.sample_posterior(
        X0, Y0, prior=br.Gaussian(1.0), sigma=v, chains=1, draws=5, progress=False
    ),
    "tau": lambda v: br.train_dropout(X0, Y0, tau=v, progress=False),
    "weight_decay": lambda v: br.train_dropout(X0, Y0, weight_decay=v, progress=False),
    "learning_rate": lambda v: br.train_dropout(X0, Y0, tau=1.0, learning_rate=v),
    "tau ": lambda v: br.bnn_posterior(X0, Y0, X0, tau=v, weight_decay=1e-3, progress=False),
    "weight_decay ": lambda v: br.bnn_posterior(X0, Y0, X0, tau=1.0, weight_decay=v),
}


@pytest.mark.parametrize(
    "name, value, rule",
    [
        (name, value, rule)
        for name in POSITIVE_ARGS
        for value, rule in BAD_POSITIVE
        # None is legal there: a flat intercept prior; "not given" for one of tau/weight_decay
        if not (name in ("intercept_scale", "tau", "weight_decay") and value is None)
    ],
    ids=lambda p: repr(p)[:12],
)
def test_bad_positive_numbers_are_refused(name, value, rule, no_compute):
    with pytest.raises((ValueError, TypeError), match=re.escape(name.strip()) + " " + rule):
        POSITIVE_ARGS[name](value)


# name -> a call taking the bad value; every one expects a whole number >= 1.
COUNT_ARGS = {
    "n": lambda v: br.to_prior("d2l", 1.0, n=v, sigma=1.0),
    "n ": lambda v: br.to_penalty("d2l", br.Gaussian(1.0), n=v, sigma=1.0),
    "n_old": lambda v: br.rescale_rows("d2l", 1.0, v, 10),
    "n_new": lambda v: br.rescale_rows("d2l", 1.0, 10, v),
    "max_sweeps": lambda v: br.map_estimate(X0, Y0, br.Laplace(1.0), 1.0, max_sweeps=v),
    "epochs": lambda v: br.sgd_path(X0, Y0, [0.1], lr=0.1, epochs=v, batch_size=1),
    "batch_size": lambda v: br.sgd_path(X0, Y0, [0.1], lr=0.1, epochs=1, batch_size=v),
    "chains": lambda v: compare_path(PATH, X0, Y0, sigma=1.0, chains=v),
    "draws": lambda v: compare_path(PATH, X0, Y0, sigma=1.0, draws=v),
    "n_train": lambda v: br.d2l_synthetic(n_train=v),
    "n_test": lambda v: br.d2l_synthetic(n_test=v),
    "num_inputs": lambda v: br.d2l_synthetic(num_inputs=v),
    "chains ": lambda v: br.run_nuts(
        br.linear_regression, X0, Y0, prior=br.Gaussian(1.0), sigma=1.0, chains=v
    ),
    "warmup": lambda v: br.run_nuts(
        br.linear_regression, X0, Y0, prior=br.Gaussian(1.0), sigma=1.0, warmup=v
    ),
    "max_tree_depth": lambda v: br.run_nuts(
        br.linear_regression, X0, Y0, prior=br.Gaussian(1.0), sigma=1.0, max_tree_depth=v
    ),
    "draws ": lambda v: br.sample_posterior(X0, Y0, prior=br.Gaussian(1.0), sigma=1.0, draws=v),
    "epochs ": lambda v: br.train_dropout(X0, Y0, tau=1.0, epochs=v, progress=False),
    "batch_size ": lambda v: br.train_dropout(X0, Y0, tau=1.0, batch_size=v, progress=False),
    "hidden layer width": lambda v: br.train_dropout(X0, Y0, tau=1.0, hidden=(v,)),
    "passes": lambda v: br.mc_dropout(DROPOUT_NET, X0, passes=v),
    "chains  ": lambda v: br.bnn_posterior(X0, Y0, X0, tau=1.0, weight_decay=1e-3, chains=v),
}

BAD_COUNT = [
    (0, "must be >= 1, got 0"),
    (-3, "must be >= 1, got -3"),
    (2.5, "must be a whole number, got 2.5"),
    (NAN, "must be a whole number, got nan"),
    (INF, "must be a whole number, got inf"),
    ("10", "must be a whole number, got '10'"),
    (True, "must be a whole number, got True"),
    (None, "must be a whole number, got None"),
]


@pytest.mark.parametrize("value, rule", BAD_COUNT, ids=lambda p: repr(p)[:12])
@pytest.mark.parametrize("name", list(COUNT_ARGS))
def test_bad_counts_are_refused(name, value, rule, no_compute):
    with pytest.raises((ValueError, TypeError), match=re.escape(name.strip()) + " " + rule):
        COUNT_ARGS[name](value)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: br.map_estimate(X0, Y0, br.Laplace(1.0), 1.0, tol=-1.0), "tol must be >= 0"),
        (lambda: br.map_estimate(X0, Y0, br.Laplace(1.0), 1.0, tol=NAN), "tol must be finite"),
        (lambda: br.map_estimate(X0, Y0, "gaussian", 1.0), "prior must be Gaussian, Laplace"),
        (
            lambda: br.sgd_path(X0, Y0, [0.1], lr=0.1, epochs=1, batch_size=1, init_scale=-1),
            "init_scale must be >= 0, got -1.0",
        ),
        (
            lambda: br.sgd_path(X0, Y0, [0.1, NAN], lr=0.1, epochs=1, batch_size=1),
            "strengths must be finite and >= 0, got nan at index 1",
        ),
        (
            lambda: br.sgd_path(X0, Y0, ["weak"], lr=0.1, epochs=1, batch_size=1),
            r"strengths must be numbers, got \['weak'\]",
        ),
        (
            lambda: br.sgd_path(X0, Y0, [[0.1]], lr=0.1, epochs=1, batch_size=1),
            r"strengths must be a non-empty 1-D array, got shape \(1, 1\)",
        ),
        (
            lambda: br.sgd_path(X0, Y0, [0.1], lr=0.1, epochs=1, batch_size=1, seed=1.5),
            "seed must be a whole number, got 1.5",
        ),
        (
            lambda: choose_strength(X0, Y0, [1.0, INF], sigma=1.0, X_val=X0, y_val=Y0),
            "strengths must be finite and > 0, got inf at index 1",
        ),
        (
            lambda: choose_strength(X0, Y0, [0.0], sigma=1.0, X_val=X0, y_val=Y0),
            "strengths must be finite and > 0, got 0.0 at index 0",
        ),
        (
            lambda: choose_strength(X0, Y0, [], sigma=1.0, X_val=X0, y_val=Y0),
            "strengths must be a non-empty 1-D array",
        ),
        (lambda: br.d2l_synthetic(seed=-1), "seed must be >= 0, got -1"),
        (lambda: br.d2l_synthetic(seed="zero"), "seed must be a whole number, got 'zero'"),
        (
            lambda: br.to_prior("sklearn-elasticnet", 1.0, n=10, sigma=1.0, l1_ratio="half"),
            "l1_ratio must be a number, got 'half'",
        ),
        (
            lambda: br.to_prior("sklearn-elasticnet", 1.0, n=10, sigma=1.0, l1_ratio=NAN),
            r"l1_ratio must lie in \(0, 1\), got nan",
        ),
        (
            lambda: br.to_prior("sklearn-elasticnet", 1.0, n=10, sigma=1.0, l1_ratio=0.0),
            r"l1_ratio must lie in \(0, 1\), got 0.0",
        ),
        (
            lambda: br.run_nuts(
                br.linear_regression, X0, Y0, prior=br.Gaussian(1.0), sigma=1.0, target_accept=1.5
            ),
            r"target_accept must lie in \(0, 1\), got 1.5",
        ),
        (lambda: br.to_penalty("d2l", "gaussian", n=10, sigma=1.0), "prior must be Gaussian"),
        (
            lambda: br.to_prior("d2l", 1e-320, n=10, sigma=1.0),
            "strength 1e-320 with n=10 and sigma=1.0 converts to a number outside the"
            " floating-point range",
        ),
        (
            lambda: br.to_prior("neg-log-posterior", 1.0, n=10, sigma=1e200),
            "strength 1.0 with n=10 and sigma=1e.200 converts to a number outside",
        ),
        (
            lambda: br.to_penalty("d2l", br.Gaussian(1e-200), n=10, sigma=1e200),
            r"prior Gaussian\(scale=1e-200\) with n=10 and sigma=1e\+200 .* outside",
        ),
        (
            lambda: br.rescale_target("d2l", 1.0, 1e200),
            r"strength 1.0 with factor=1e\+200 rescales to a number outside",
        ),
        (
            lambda: br.map_estimate(X0, Y0, br.Gaussian(1e-200), 1e200),
            r"MAP penalty is not finite: sigma=1e\+200 with Gaussian\(scale=1e-200\)",
        ),
        (
            lambda: br.map_estimate(X0 * 1e300, Y0, br.Gaussian(1.0), 1.0),
            r"MAP estimate is not finite .* sigma=1.0 with Gaussian\(scale=1.0\)",
        ),
        (
            lambda: br.exact_posterior(X0, Y0, prior_scale=1.0, sigma=1e200),
            r"exact posterior is not finite .* prior_scale=1.0 and sigma=1e\+200",
        ),
        (
            lambda: br.log_evidence(X0, Y0, prior_scale=1.0, sigma=1e200),
            r"log evidence is not finite .* prior_scale=1.0 and sigma=1e\+200",
        ),
    ],
)
def test_other_bad_numbers_are_refused(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# --- bad names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: br.to_prior("ridge", 1.0, n=10, sigma=1.0), "unknown convention 'ridge'"),
        (lambda: br.to_prior(None, 1.0, n=10, sigma=1.0), "unknown convention None"),
        (lambda: br.to_penalty("lasso", br.Laplace(1.0), n=10, sigma=1.0), "convention 'lasso'"),
        (lambda: br.convert(1.0, source="d2l", target="pytorch", n=5, sigma=1.0), "'pytorch'"),
        (lambda: br.rescale_target("keras", 1.0, 2.0, prior="moves"), "unknown prior 'moves'"),
        (lambda: br.rescale_rows("adam", 1.0, 10, 20), "unknown convention 'adam'"),
        (
            lambda: br.to_prior("d2l", 1.0, n=10, sigma=1.0, family="cauchy"),
            "unknown family 'cauchy'; choose one of: gaussian, laplace, elastic-net",
        ),
        (
            lambda: br.to_prior("d2l", 1.0, n=10, sigma=1.0, family="laplace"),
            "convention 'd2l' has no laplace penalty",
        ),
        (
            lambda: br.to_penalty("sklearn-ridge", br.Laplace(1.0), n=10, sigma=1.0),
            "convention 'sklearn-ridge' has no laplace penalty",
        ),
        (lambda: br.prior_from_name("student-t", 1.0), "unknown family 'student-t'"),
        (
            lambda: br.sgd_path(X0, Y0, [0.1], lr=0.1, epochs=1, batch_size=1, optimizer="lbfgs"),
            "unknown optimizer 'lbfgs'; choose one of: sgd, sgd-l2-loss",
        ),
        (
            lambda: br.sample_posterior(X0, Y0, prior=br.Gaussian(1.0), sigma=1.0, method="vi"),
            "unknown method 'vi'; choose one of: auto, exact, nuts",
        ),
        (
            lambda: compare_path(PATH, X0, Y0, sigma=1.0, method="mcmc"),
            "unknown method 'mcmc'",
        ),
        (
            lambda: choose_strength(X0, Y0, [1.0], sigma=1.0, X_val=X0, y_val=Y0, convention="l2"),
            "unknown convention 'l2'",
        ),
        (lambda: nearest_map(X0, Y0, np.ones(3), convention="l2"), "unknown convention 'l2'"),
        (
            lambda: br.linear_regression(
                X0, Y0, prior=br.Gaussian(1.0), sigma=1.0, parametrization="centered"
            ),  # fmt: skip
            "unknown parametrization 'centered'",
        ),
    ],
)
def test_unknown_names_are_refused(call, message, no_compute):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name", ["adamw", "AdamW", "torch-adamw", "optax-adamw", "decoupled"])
def test_adamw_is_refused_with_the_reason(name):
    for call in (
        lambda: br.get_convention(name),
        lambda: br.to_prior(name, 0.01, n=10, sigma=1.0),
        lambda: br.convert(0.01, source="d2l", target=name, n=10, sigma=1.0),
        lambda: br.rescale_rows(name, 0.01, 10, 20),
    ):
        with pytest.raises(br.DecoupledWeightDecayError, match="no fixed-prior equivalent"):
            call()


# --- the command line -----------------------------------------------------------------------

CLI_BASE = ["convert", "--from", "d2l", "--strength", "3", "--n", "20", "--sigma", "0.01"]


def _cli(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--strength": "-1"}, "strength must be > 0, got -1.0"),
        ({"--strength": "0"}, "strength must be > 0, got 0.0"),
        ({"--strength": "inf"}, "strength must be finite, got inf"),
        ({"--strength": "abc"}, "argument --strength: invalid float value: 'abc'"),
        ({"--sigma": "nan"}, "sigma must be finite, got nan"),
        ({"--sigma": "-0.5"}, "sigma must be > 0, got -0.5"),
        ({"--n": "0"}, "n must be >= 1, got 0"),
        ({"--n": "inf"}, "n must be a whole number, got inf"),
        ({"--from": "ridge"}, "unknown convention 'ridge'"),
        ({"--from": "adamw"}, "no fixed-prior equivalent"),
        ({"--to": "torch-adamw"}, "no fixed-prior equivalent"),
        ({"--to": "lasso"}, "unknown convention 'lasso'"),
        ({"--family": "cauchy"}, "argument --family: invalid choice: 'cauchy'"),
        ({"--family": "laplace"}, "convention 'd2l' has no laplace penalty"),
        (
            {"--from": "sklearn-elasticnet", "--l1-ratio": "1.5"},
            r"l1_ratio must lie in \(0, 1\), got 1.5",
        ),
        ({"--from": "neg-log-posterior", "--sigma": "1e200"}, "outside the floating-point range"),
        ({"--to": "sklearn-ridge", "--sigma": "1e-200"}, "outside the floating-point range"),
    ],
)
def test_cli_refuses_bad_input_with_exit_code_2(change, message, capsys):
    argv = list(CLI_BASE)
    for flag, value in change.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    code, err = _cli(argv, capsys)
    assert code == 2
    assert re.search(message, err), err


def test_cli_missing_argument_exits_2(capsys):
    code, err = _cli(["convert", "--from", "d2l"], capsys)
    assert code == 2 and "required" in err


# --- property-based: bad and borderline inputs ---------------------------------------------

ANY_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 1e-320, 5e-324, 1e-300, 1e300, 1.7e308, NAN, INF, -INF]),
)
NAMES = st.one_of(st.sampled_from(list(br.CONVENTIONS)), st.text(max_size=12))
COUNT = st.one_of(st.integers(-5, 10**7), st.floats(allow_nan=True, allow_infinity=True))


def _bad_positive(x) -> bool:
    return not (isinstance(x, int | float) and math.isfinite(x) and x > 0)


def _bad_count(x) -> bool:
    return not (math.isfinite(x) and float(x).is_integer() and x >= 1)


def _assert_refusal_names(err: Exception, name: str):
    assert isinstance(err, ValueError | TypeError), repr(err)
    assert name in str(err), f"{name!r} not in {str(err)!r}"


@SETTINGS
@given(
    convention=NAMES,
    strength=ANY_FLOAT,
    n=COUNT,
    sigma=ANY_FLOAT,
    l1_ratio=st.one_of(st.floats(0.01, 0.99), ANY_FLOAT),
)
def test_conversions_round_trip_or_name_the_bad_argument(convention, strength, n, sigma, l1_ratio):
    mixes = convention == "sklearn-elasticnet"  # its bare strength needs an l1_ratio
    extra = {"l1_ratio": l1_ratio} if mixes else {}
    checks = [  # in the order to_prior checks them
        ("convention", convention not in br.CONVENTIONS),
        ("l1_ratio", mixes and not (0 < l1_ratio < 1)),
        ("strength", _bad_positive(strength)),
        ("n", _bad_count(n)),
        ("sigma", _bad_positive(sigma)),
    ]
    first_bad = next((name for name, bad in checks if bad), None)
    try:
        prior = br.to_prior(convention, strength, n=n, sigma=sigma, **extra)
    except Exception as err:  # noqa: BLE001 - the point is which type
        _assert_refusal_names(err, first_bad or "outside the floating-point range")
        return
    assert first_bad is None
    scales = [getattr(prior, f, None) for f in ("scale", "gaussian_scale", "laplace_scale")]
    assert all(math.isfinite(s) and s > 0 for s in scales if s is not None)
    try:
        back = br.to_penalty(convention, prior, n=n, sigma=sigma)
    except ValueError as err:
        assert "outside the floating-point range" in str(err)
        return
    assert back.strength == pytest.approx(strength, rel=1e-9)
    if mixes:
        assert back.l1_ratio == pytest.approx(l1_ratio, rel=1e-9)


@SETTINGS
@given(
    convention=st.sampled_from(list(br.CONVENTIONS)),
    strength=st.floats(1e-6, 1e6),
    factor=ANY_FLOAT,
    prior=st.sampled_from(["follows", "fixed"]),
    n_old=COUNT,
    n_new=COUNT,
)
def test_rescaling_is_finite_or_names_the_bad_argument(
    convention, strength, factor, prior, n_old, n_new
):
    extra = {"l1_ratio": 0.5} if convention == "sklearn-elasticnet" else {}
    try:
        out = br.rescale_target(convention, strength, factor, prior=prior, **extra)
    except (ValueError, TypeError) as err:
        assert _bad_positive(factor) or "factor=" in str(err)
        _assert_refusal_names(err, "factor")
    else:
        assert not _bad_positive(factor) and math.isfinite(out) and out > 0
        # How the strength moves with y -> c y (squared error: the objective times c²).
        family = br.get_convention(convention).default_family
        power = {
            ("gaussian", "follows"): 0,
            ("laplace", "follows"): 1,  # ‖c w‖₁ against c² Σr²: an L1 strength grows by c
            ("gaussian", "fixed"): 2,
            ("laplace", "fixed"): 2,
        }.get((family, prior))
        if power is not None:
            if convention == "neg-log-posterior":  # precision 1/g², rate 1/l: the prior alone
                power = {("gaussian", "follows"): -2, ("laplace", "follows"): -1}.get(
                    (family, prior), 0
                )
            assert out == pytest.approx(strength * factor**power, rel=1e-9)
    try:
        out = br.rescale_rows(convention, strength, n_old, n_new, **extra)
    except (ValueError, TypeError) as err:
        _assert_refusal_names(err, "n_old" if _bad_count(n_old) else "n_new")
    else:
        assert not (_bad_count(n_old) or _bad_count(n_new)) and math.isfinite(out) and out > 0


def _arrays(draw, rows, cols, poison):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3, 1e6]))
    a = rng.normal(size=(rows, cols)) * scale
    if poison and a.size:
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([NAN, INF, -INF]))
    return a


@st.composite
def problems(draw):
    rows, cols = draw(st.integers(0, 8)), draw(st.integers(0, 4))
    X = _arrays(draw, rows, cols, draw(st.booleans()))
    y_rows = draw(st.sampled_from([rows, rows, rows, max(rows - 1, 0), rows + 1]))
    y = _arrays(draw, y_rows, 1, draw(st.booleans()))[:, 0]
    if draw(st.booleans()):
        X = X.astype(np.float32)
    return X, y


def _data_error(X, y, min_rows=2):
    """The argument the first failing data check must name, or None for valid data."""
    if X.shape[1] == 0 or X.shape[0] < min_rows or not np.isfinite(X).all():
        return "X"
    if y.shape[0] != X.shape[0]:
        return "rows but y has"
    if not np.isfinite(y).all():
        return "y"
    return None


POSITIVE_FLOAT = st.one_of(st.floats(1e-3, 1e3), ANY_FLOAT)


@SETTINGS
@given(data=problems(), scale=POSITIVE_FLOAT, sigma=POSITIVE_FLOAT, laplace=st.booleans())
def test_map_estimate_is_finite_or_names_the_bad_argument(data, scale, sigma, laplace):
    X, y = data
    try:
        prior = (br.Laplace if laplace else br.Gaussian)(scale)
    except (ValueError, TypeError) as err:
        assert _bad_positive(scale)
        _assert_refusal_names(err, "scale")
        return
    try:
        est = br.map_estimate(X, y, prior, sigma)
    except Exception as err:  # noqa: BLE001 - the point is which type
        name = _data_error(X, y) or ("sigma" if _bad_positive(sigma) else "not finite")
        _assert_refusal_names(err, name)
        if name == "not finite":
            assert f"sigma={float(sigma)}" in str(err)
        return
    assert _data_error(X, y) is None and not _bad_positive(sigma)
    assert est.w.shape == (X.shape[1],)
    assert np.all(np.isfinite(est.w)) and np.isfinite(float(est.b))


@SETTINGS
@given(data=problems(), scale=POSITIVE_FLOAT, sigma=POSITIVE_FLOAT)
def test_exact_posterior_and_evidence_are_finite_or_name_the_bad_argument(data, scale, sigma):
    X, y = data
    try:
        post = br.exact_posterior(X, y, prior_scale=scale, sigma=sigma)
    except Exception as err:  # noqa: BLE001
        name = (
            _data_error(X, y, min_rows=1)
            or ("prior_scale" if _bad_positive(scale) else None)
            or ("sigma" if _bad_positive(sigma) else "prior_scale=")
        )
        _assert_refusal_names(err, name)
    else:
        assert _data_error(X, y, min_rows=1) is None
        assert np.all(np.isfinite(post.mean)) and np.all(np.isfinite(post.cov))
    try:
        value = br.log_evidence(X, y, prior_scale=scale, sigma=sigma)
    except Exception as err:  # noqa: BLE001
        name = (
            _data_error(X, y)
            or ("prior_scale" if _bad_positive(scale) else None)
            or ("sigma" if _bad_positive(sigma) else "prior_scale=")
        )
        _assert_refusal_names(err, name)
    else:
        assert _data_error(X, y) is None and math.isfinite(value)


@SETTINGS
@given(
    lr=st.one_of(st.floats(1e-4, 1e8), ANY_FLOAT),
    strengths=st.lists(st.one_of(st.floats(0, 1e3), ANY_FLOAT), min_size=2, max_size=2),
)
def test_sgd_path_is_finite_or_names_the_bad_argument(lr, strengths):
    try:
        path = br.sgd_path(X0, Y0, strengths, lr=lr, epochs=3, batch_size=4)
    except Exception as err:  # noqa: BLE001
        assert isinstance(err, ValueError | TypeError), repr(err)
        message = str(err)
        bad_strength = any(not (math.isfinite(s) and s >= 0) for s in strengths)
        if bad_strength:
            assert message.startswith("strengths must be finite and >= 0")
        elif _bad_positive(lr):
            assert message.startswith("lr must be")
        else:  # diverged: the message names the strengths and the learning rate
            assert "diverged" in message and f"lr={float(lr)}" in message
            assert "strength(s) [" in message
        return
    assert np.all(np.isfinite(path.w.values)) and np.all(np.isfinite(path.train_loss.values))


@SETTINGS
@given(
    convention=st.text(max_size=10),
    family=st.text(max_size=10),
    optimizer=st.text(max_size=10),
    method=st.text(max_size=10),
)
def test_random_names_are_refused_with_the_field_name(convention, family, optimizer, method):
    checks = [
        (lambda: br.get_convention(convention), convention, tuple(br.CONVENTIONS), "convention"),
        (
            lambda: br.to_prior("sklearn-sgd", 1.0, n=5, sigma=1.0, family=family, l1_ratio=0.5),
            family,
            ("gaussian", "laplace", "elastic-net", ""),
            "family",
        ),
        (
            lambda: br.sgd_path(
                X0, Y0, [0.1], lr=0.01, epochs=1, batch_size=4, optimizer=optimizer
            ),
            optimizer,
            br.OPTIMIZERS,
            "optimizer",
        ),
        (
            lambda: compare_path(PATH, X0, Y0, sigma=1.0, method=method, draws=5, chains=1),
            method,
            ("auto", "exact", "nuts"),
            "method",
        ),
    ]
    for call, value, allowed, field in checks:
        if value in allowed or value.lower() in ("adamw", "decoupled"):
            continue
        with pytest.raises(ValueError, match=f"unknown {field} {re.escape(repr(value))}"):
            call()


# --- divergence -----------------------------------------------------------------------------


@pytest.mark.parametrize("epochs", [3, 200])
def test_divergence_names_the_strength_and_learning_rate(epochs):
    # 3 epochs: the loss explodes (finite, 1e60 times its start); 200: it overflows to NaN.
    with pytest.raises(
        ValueError, match=r"diverged .* strength\(s\) \[0.0, 0.5\] with lr=1000000.0"
    ):
        br.sgd_path(X0, Y0, [0.0, 0.5], lr=1e6, epochs=epochs, batch_size=12)


def test_only_the_diverging_strengths_are_named():
    # lr * (curvature + strength) > 2 diverges only for the large strength.
    with pytest.raises(ValueError, match=r"strength\(s\) \[1000.0\] with lr=0.01"):
        br.sgd_path(X0, Y0, [0.0, 1000.0], lr=0.01, epochs=50, batch_size=12)


# --- numerically hard but valid problems ----------------------------------------------------


def test_many_more_features_than_rows():
    data = br.d2l_synthetic(seed=3)
    X, y = data.X_train, data.y_train  # 20 rows, 200 features
    g, sigma = 0.01, 0.01
    est = br.map_estimate(X, y, br.Gaussian(g), sigma)
    reference = Ridge(alpha=sigma**2 / g**2).fit(X, y)
    np.testing.assert_allclose(est.w, reference.coef_, rtol=1e-8, atol=1e-12)
    assert float(est.b) == pytest.approx(reference.intercept_, rel=1e-8)
    post = br.exact_posterior(X, y, prior_scale=g, sigma=sigma)
    np.testing.assert_allclose(post.w_mean, reference.coef_, rtol=1e-6, atol=1e-10)
    assert np.all(np.isfinite(br.map_estimate(X, y, br.Laplace(g), sigma).w))
    assert math.isfinite(br.log_evidence(X, y, prior_scale=g, sigma=sigma))
    assert 0 < br.best_prior_scale(X, y, sigma=sigma) < np.inf


def test_duplicated_columns():
    X = np.column_stack([X0, X0[:, 0]])
    est = br.map_estimate(X, Y0, br.Gaussian(1.0), 0.5)
    reference = Ridge(alpha=0.25).fit(X, Y0)
    np.testing.assert_allclose(est.w, reference.coef_, rtol=1e-9, atol=1e-12)
    assert float(est.w[0]) == pytest.approx(float(est.w[-1]), rel=1e-9)  # shared equally
    post = br.exact_posterior(X, Y0, prior_scale=1.0, sigma=0.5)
    np.testing.assert_allclose(post.w_mean, reference.coef_, rtol=1e-8, atol=1e-10)
    lasso = br.map_estimate(X, Y0, br.Laplace(1.0), 0.5)
    assert np.all(np.isfinite(lasso.w))
    path = br.sgd_path(X, Y0, [0.0, 0.1], lr=0.01, epochs=20, batch_size=4)
    assert np.all(np.isfinite(path.w.values))
    assert br.fit_evidence(X, Y0).sigma > 0


@pytest.mark.parametrize("c", [1e-3, 1.0, 1e3, 1e6])
def test_target_scale_is_a_change_of_units(c):
    """Fit on c·y with prior scale c·g and sigma c·σ is c × the fit on y (Ridge agrees)."""
    g, sigma = 0.7, 0.3
    reference = Ridge(alpha=sigma**2 / g**2).fit(X0, c * Y0)
    est = br.map_estimate(X0, c * Y0, br.Gaussian(c * g), c * sigma)
    np.testing.assert_allclose(est.w, reference.coef_, rtol=1e-9)
    base = br.map_estimate(X0, Y0, br.Gaussian(g), sigma)
    np.testing.assert_allclose(est.w, c * np.asarray(base.w), rtol=1e-9)
    assert float(est.b) == pytest.approx(c * float(base.b), rel=1e-8, abs=1e-12 * c)
    lasso = br.map_estimate(X0, c * Y0, br.Laplace(c * g), c * sigma)
    lasso_base = br.map_estimate(X0, Y0, br.Laplace(g), sigma)
    np.testing.assert_allclose(lasso.w, c * np.asarray(lasso_base.w), rtol=1e-8, atol=1e-12 * c)
    post = br.exact_posterior(X0, c * Y0, prior_scale=c * g, sigma=c * sigma)
    post_base = br.exact_posterior(X0, Y0, prior_scale=g, sigma=sigma)
    np.testing.assert_allclose(post.w_mean, reference.coef_, rtol=1e-8)
    np.testing.assert_allclose(post.w_sd, c * np.asarray(post_base.w_sd), rtol=1e-8)
    # The evidence of the rescaled data differs by the Jacobian, -n log c.
    shift = br.log_evidence(X0, c * Y0, prior_scale=c * g, sigma=c * sigma) - br.log_evidence(
        X0, Y0, prior_scale=g, sigma=sigma
    )
    assert shift == pytest.approx(-len(Y0) * math.log(c), abs=1e-6)


def test_float32_inputs_give_finite_results():
    X, y = X0.astype(np.float32), Y0.astype(np.float32)
    for prior in (br.Gaussian(1.0), br.Laplace(1.0), br.ElasticNet(1.0, 1.0)):
        est = br.map_estimate(X, y, prior, 0.5)
        assert np.all(np.isfinite(est.w)) and np.isfinite(float(est.b))
    post = br.exact_posterior(X, y, prior_scale=1.0, sigma=0.5)
    assert np.all(np.isfinite(post.mean)) and np.all(np.isfinite(post.w_sd))
    assert math.isfinite(br.log_evidence(X, y, prior_scale=1.0, sigma=0.5))
    path = br.sgd_path(X, y, [0.0, 0.1], lr=0.01, epochs=10, batch_size=4)
    assert np.all(np.isfinite(path.w.values))
    # Mixed precision (float32 X, float64 y) is promoted to one dtype at the boundary.
    for prior in (br.Gaussian(1.0), br.Laplace(1.0)):
        assert np.all(np.isfinite(br.map_estimate(X, Y0, prior, 0.5).w))
    assert np.all(np.isfinite(br.exact_posterior(X, Y0, prior_scale=1.0, sigma=0.5).mean))
    reference = Ridge(alpha=1.0).fit(X0, Y0)
    np.testing.assert_allclose(
        br.map_estimate(X, y, br.Gaussian(1.0), 1.0).w, reference.coef_, rtol=1e-4
    )


# --- the Bayesian model checks its own arguments, also on the NUTS route ---------------------


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
    with pytest.raises(TypeError, match="prior must be Gaussian, Laplace or ElasticNet"):
        br.run_nuts(br.linear_regression, X0, Y0, prior="gaussian", sigma=1.0)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, NAN])
def test_dropout_rates_outside_zero_one_are_refused(rate, no_compute):
    with pytest.raises(ValueError, match=r"dropout must (lie in \[0, 1\)|be finite)"):
        br.train_dropout(X0, Y0, dropout=rate, tau=1.0)


def test_diverging_dropout_training_names_the_learning_rate():
    with pytest.raises(ValueError, match=r"training diverged .* learning_rate 1e\+30"):
        br.train_dropout(
            X0,
            Y0,
            tau=1.0,
            hidden=(4,),
            epochs=3,
            learning_rate=1e30,
            optimizer="sgd",
            progress=False,
        )
