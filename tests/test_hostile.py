"""Hostile input: every public entry point refuses bad input before computing anything.

A refusal is a ValueError or TypeError whose message names the field, the value and the
rule. This file keeps the cross-cutting contract, parametrised over many entry points: bad
data, a single row, held-out sets, all-constant columns, bad numbers, bad counts and unknown
names are refused, with the ``no_compute`` fixture (conftest.py) failing any test that reaches
a solver, sampler or training loop. NUTS itself never runs here: its input checks come before
sampling.

The module-specific cases live with their modules: the property-based "finite or names the
bad argument" tests and the numerically hard but valid problems (d >> n, collinear columns,
targets from 1e-3 to 1e6, float32) in test_conventions.py, test_map.py, test_exact.py and
test_sgd.py; divergence in test_sgd.py and test_dropout.py; the command line's refusals in
test_cli.py.

Constant columns, decided per function:

- ``map_estimate``, ``exact_posterior``, ``sgd_path``, ``log_evidence``, ``choose_strength``:
  legal (tested in test_map.py). The unpenalised intercept absorbs a constant column; the MAP
  gives it weight 0 (for Laplace exactly 0) and the exact posterior leaves it at its prior,
  N(0, prior_scale²).
- ``fit_evidence`` and ``best_prior_scale``: one constant column is legal; when *every*
  column is constant (or ``y`` is) the evidence no longer identifies the scale, so they refuse
  and name the columns.
- ``compare_path``, ``map_gap``: their relative distance to the MAP divides by ‖w_map‖,
  which is 0 for a constant ``y`` or all-constant ``X``: refused. ``nearest_map`` refuses
  ``w = 0`` for the same reason.
"""

import re

import numpy as np
import pandas as pd
import pytest
from helpers import INF, NAN, SETTINGS, X0, Y0
from hypothesis import given
from hypothesis import strategies as st

import bayes_reg as br
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.compare import choose_strength, compare_path, map_gap, nearest_map

PATH = br.sgd_path(X0, Y0, [0.0, 1.0], lr=0.05, epochs=3, batch_size=4, record_weights=True)
DROPOUT_NET = br.train_dropout(X0, Y0, tau=1.0, hidden=(4,), epochs=2, progress=False)


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
        X,
        y,
        prior=br.Gaussian(1.0),
        sigma=1.0,
        sampler=br.Sampler(chains=1, draws=5),
        progress=False,
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


def _nullable(a, row):
    """``a`` as pandas' nullable floats (a table, or a column), missing (``pd.NA``) in ``row``."""
    table = pd.DataFrame(a, columns=["a", "b", "c"]) if np.ndim(a) == 2 else pd.Series(a)
    table = table.astype("Float64")
    table.loc[row] = pd.NA
    return table


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
    # pandas: NumPy reads a table with text, or with a nullable column's pd.NA, as objects.
    "X-table-text": (
        pd.DataFrame(X0, columns=["a", "b", "c"]).assign(b=list("xyz") * 4),
        Y0,
        r"X must be numeric, and its column\(s\) b are not; .* bayes_reg.fit\('y ~ ...', frame\)",
    ),
    "X-table-nullable-missing": (
        _nullable(X0, 4),
        Y0,
        r"X must be finite: 3 NaN or infinite value\(s\), the first at index \(4, 0\)",
    ),
    "y-nullable-missing": (
        X0,
        _nullable(Y0, 3),
        r"y must be finite: .* index \(3,\)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_bad_data_is_refused_before_computing(entry, case, no_compute):
    X, y, message = BAD_DATA[case]
    if entry == "exact_posterior" and case == "zero-rows":
        message = "X has 0 rows; at least 1 are needed"
    with pytest.raises((ValueError, TypeError), match=message):
        ENTRY_POINTS[entry](X, y)


def test_a_table_of_nullable_numbers_is_read_as_its_floats():
    # NumPy reads Int64 and Float64 columns with a pd.NA as objects, which were refused as
    # "got dtype object" even where no value is missing.
    table = pd.DataFrame(X0, columns=["a", "b", "c"]).astype("Float64")
    table["a"] = pd.array(np.arange(12), dtype="Int64")
    y = pd.Series(Y0).astype("Float64")
    ours = br.map_estimate(table, y, br.Gaussian(1.0), 1.0)
    floats = br.map_estimate(table.to_numpy(float), Y0, br.Gaussian(1.0), 1.0)
    np.testing.assert_array_equal(ours.w, floats.w)
    assert np.asarray(table).dtype == object  # why: what NumPy makes of it


@pytest.mark.parametrize("entry", [e for e in ENTRY_POINTS if e != "exact_posterior"])
def test_a_single_row_is_refused(entry, no_compute):
    with pytest.raises(ValueError, match="X has 1 rows; at least 2 are needed"):
        ENTRY_POINTS[entry](X0[:1], Y0[:1])


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
    # n: the rows, or the sum of their sample weights (a weighted fit's may be 2.5).
    "n": lambda v: br.to_prior("d2l", 1.0, n=v, sigma=1.0),
    "n ": lambda v: br.to_penalty("d2l", br.Gaussian(1.0), n=v, sigma=1.0),
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
        X0,
        Y0,
        prior=br.Gaussian(1.0),
        sigma=v,
        sampler=br.Sampler(chains=1, draws=5),
        progress=False,
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
        # a prior takes one scale per feature as a list (tested in test_priors.py), and so
        # does exact_posterior (tested in test_exact.py)
        and not ((name.strip() == "scale" or name == "prior_scale") and isinstance(value, list))
        # sample_posterior without sigma is a GLM's call; a Gaussian one asks for sigma
        and not (name == "sigma         " and value is None)
    ],
    ids=lambda p: repr(p)[:12],
)
def test_bad_positive_numbers_are_refused(name, value, rule, no_compute):
    with pytest.raises((ValueError, TypeError), match=re.escape(name.strip()) + " " + rule):
        POSITIVE_ARGS[name](value)


# name -> a call taking the bad value; every one expects a whole number >= 1.
COUNT_ARGS = {
    "n_old": lambda v: br.rescale_rows("d2l", 1.0, v, 10),
    "n_new": lambda v: br.rescale_rows("d2l", 1.0, 10, v),
    "max_sweeps": lambda v: br.map_estimate(X0, Y0, br.Laplace(1.0), 1.0, max_sweeps=v),
    "epochs": lambda v: br.sgd_path(X0, Y0, [0.1], lr=0.1, epochs=v, batch_size=1),
    "batch_size": lambda v: br.sgd_path(X0, Y0, [0.1], lr=0.1, epochs=1, batch_size=v),
    "chains": lambda v: compare_path(
        PATH,
        X0,
        Y0,
        sigma=1.0,
        sampler=Sampler(chains=v),
    ),
    "draws": lambda v: compare_path(
        PATH,
        X0,
        Y0,
        sigma=1.0,
        sampler=Sampler(draws=v),
    ),
    "n_train": lambda v: br.d2l_synthetic(n_train=v),
    "n_test": lambda v: br.d2l_synthetic(n_test=v),
    "num_inputs": lambda v: br.d2l_synthetic(num_inputs=v),
    "chains ": lambda v: br.run_nuts(
        br.linear_regression,
        X0,
        Y0,
        prior=br.Gaussian(1.0),
        sigma=1.0,
        sampler=br.Sampler(chains=v),
    ),
    "warmup": lambda v: br.run_nuts(
        br.linear_regression,
        X0,
        Y0,
        prior=br.Gaussian(1.0),
        sigma=1.0,
        sampler=br.Sampler(warmup=v),
    ),
    "max_tree_depth": lambda v: br.run_nuts(
        br.linear_regression,
        X0,
        Y0,
        prior=br.Gaussian(1.0),
        sigma=1.0,
        sampler=br.Sampler(max_tree_depth=v),
    ),
    "draws ": lambda v: br.sample_posterior(
        X0,
        Y0,
        prior=br.Gaussian(1.0),
        sigma=1.0,
        sampler=br.Sampler(draws=v),
    ),
    "epochs ": lambda v: br.train_dropout(X0, Y0, tau=1.0, epochs=v, progress=False),
    "batch_size ": lambda v: br.train_dropout(X0, Y0, tau=1.0, batch_size=v, progress=False),
    "hidden layer width": lambda v: br.train_dropout(X0, Y0, tau=1.0, hidden=(v,)),
    "passes": lambda v: br.mc_dropout(DROPOUT_NET, X0, passes=v),
    "chains  ": lambda v: br.bnn_posterior(
        X0,
        Y0,
        X0,
        tau=1.0,
        weight_decay=1e-3,
        sampler=br.Sampler(chains=v),
    ),
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
                br.linear_regression,
                X0,
                Y0,
                prior=br.Gaussian(1.0),
                sigma=1.0,
                sampler=br.Sampler(target_accept=1.5),
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
        (lambda: br.prior_from_name("horseshoe", 1.0), "unknown family 'horseshoe'"),
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
            lambda: compare_path(
                PATH,
                X0,
                Y0,
                sigma=1.0,
                method=method,
                sampler=Sampler(chains=1, draws=5),
            ),
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
