import jax
import numpy as np
import pandas as pd
import pytest
import scipy.integrate
import scipy.stats
import xarray as xr

from bayes_reg.per_feature import in_feature_order
from bayes_reg.priors import (
    ElasticNet,
    Flat,
    Gaussian,
    Laplace,
    StudentT,
    is_penalty,
    prior_from_name,
    split_scales,
)

W = np.linspace(-5.0, 5.0, 41)


@pytest.mark.parametrize("scale", [0.01, 0.7, 3.0])
def test_gaussian_log_prob_matches_scipy(scale):
    np.testing.assert_allclose(
        Gaussian(scale).log_prob(W), scipy.stats.norm(0, scale).logpdf(W), rtol=1e-12
    )


@pytest.mark.parametrize("scale", [0.01, 0.7, 3.0])
def test_laplace_log_prob_matches_scipy(scale):
    np.testing.assert_allclose(
        Laplace(scale).log_prob(W), scipy.stats.laplace(0, scale).logpdf(W), rtol=1e-12
    )


@pytest.mark.parametrize("gaussian_scale, laplace_scale", [(1.0, 1.0), (0.3, 2.0), (2.0, 0.1)])
def test_elastic_net_density_integrates_to_one(gaussian_scale, laplace_scale):
    prior = ElasticNet(gaussian_scale, laplace_scale)
    half, _ = scipy.integrate.quad(
        lambda w: np.exp(float(prior.log_prob(w))), 0, np.inf, epsabs=1e-13, epsrel=1e-12
    )
    assert 2 * half == pytest.approx(1.0, abs=1e-10)


def test_elastic_net_sampler_matches_its_density():
    prior = ElasticNet(0.8, 0.5)
    draws = np.asarray(prior.to_numpyro().sample(jax.random.key(0), (20_000,)))
    grid = np.linspace(-6, 6, 4001)
    cdf = np.cumsum(np.exp(np.asarray(prior.log_prob(grid)))) * (grid[1] - grid[0])
    result = scipy.stats.kstest(draws, lambda x: np.interp(x, grid, cdf))
    assert result.pvalue > 1e-3  # a correct sampler fails this 1 time in 1000


def test_penalty_is_negative_log_density_up_to_a_constant():
    w1, w2 = np.array([0.3, -1.2]), np.array([2.0, 0.1])
    for prior in (Gaussian(0.7), Laplace(0.7), ElasticNet(0.7, 1.3)):
        diff_logp = float(prior.log_prob(w1).sum() - prior.log_prob(w2).sum())
        assert float(prior.penalty(w2) - prior.penalty(w1)) == pytest.approx(diff_logp, rel=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_scales_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="scale must be"):
        Gaussian(bad)
    with pytest.raises(ValueError, match="scale must be"):
        Laplace(bad)
    with pytest.raises(ValueError, match="laplace_scale must be"):
        ElasticNet(1.0, bad)


def test_priors_are_frozen_and_named():
    prior = prior_from_name("laplace", 2.0)
    assert prior == Laplace(2.0)
    with pytest.raises(AttributeError):
        prior.scale = 3.0
    with pytest.raises(ValueError, match="unknown family 'cauchy'"):
        prior_from_name("cauchy", 1.0)


def test_means_and_one_scale_per_feature_match_scipy():
    scale, mean = np.array([0.5, 2.0, 7.0]), np.array([-1.0, 0.0, 3.0])
    w = np.array([[0.3, -1.2, 4.0], [-2.0, 5.0, 0.0]])
    np.testing.assert_allclose(
        Gaussian(scale, mean).log_prob(w), scipy.stats.norm(mean, scale).logpdf(w), rtol=1e-12
    )
    np.testing.assert_allclose(
        Laplace(scale, mean).log_prob(w), scipy.stats.laplace(mean, scale).logpdf(w), rtol=1e-12
    )
    np.testing.assert_allclose(
        StudentT(3.0, scale, mean).log_prob(w),
        scipy.stats.t(3.0, mean, scale).logpdf(w),
        rtol=1e-12,
    )


@pytest.mark.parametrize("df", [1.0, 3.0, 30.0])
def test_student_t_log_prob_and_sampler_match_scipy(df):
    prior = StudentT(df, 0.7, 1.5)
    np.testing.assert_allclose(prior.log_prob(W), scipy.stats.t(df, 1.5, 0.7).logpdf(W), rtol=1e-12)
    draws = np.asarray(prior.to_numpyro().sample(jax.random.key(0), (20_000,)))
    assert scipy.stats.kstest(draws, scipy.stats.t(df, 1.5, 0.7).cdf).pvalue > 1e-3


def test_flat_is_an_improper_constant():
    assert Flat().family == "flat" and prior_from_name("flat") == Flat()
    np.testing.assert_array_equal(Flat().log_prob(W), np.zeros_like(W))
    assert float(Flat().penalty(W)) == 0.0
    assert float(Flat().to_numpyro().log_prob(3.0)) == 0.0


def test_penalty_of_a_mean_and_per_feature_prior_is_its_negative_log_density():
    w1, w2 = np.array([0.3, -1.2]), np.array([2.0, 0.1])
    for prior in (
        Gaussian([0.7, 2.0], mean=[1.0, -1.0]),
        Laplace([0.7, 2.0], mean=0.5),
        StudentT(4.0, [0.7, 2.0], mean=[1.0, 0.0]),
    ):
        diff_logp = float(prior.log_prob(w1).sum() - prior.log_prob(w2).sum())
        assert float(prior.penalty(w2) - prior.penalty(w1)) == pytest.approx(diff_logp, rel=1e-12)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Gaussian([1.0, -2.0]), r"scale must be finite and > 0, got -2.0 at index 1"),
        (lambda: Laplace([[1.0]]), r"scale must be a number or a 1-D list of numbers"),
        (lambda: Gaussian(1.0, mean=float("nan")), "mean must be finite, got nan"),
        (lambda: StudentT(0.0, 1.0), "df must be > 0, got 0.0"),
        (lambda: StudentT([3.0, 4.0], 1.0), r"df must be one number \(the same for every"),
        (lambda: prior_from_name("student-t", 1.0), "the student-t prior needs df"),
    ],
)
def test_bad_prior_values_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_only_zero_mean_one_scale_priors_are_penalties():
    assert split_scales(Gaussian(2.0)) == (2.0, None) and is_penalty(ElasticNet(1.0, 2.0))
    for prior in (Gaussian(1.0, mean=1.0), Laplace([1.0, 2.0]), StudentT(3.0, 1.0), Flat()):
        assert not is_penalty(prior)
        with pytest.raises(ValueError, match="is not a penalty"):
            split_scales(prior)


def test_priors_with_arrays_compare_and_hash_by_value():
    a, b = Gaussian([1.0, 2.0], mean=[0.0, 1.0]), Gaussian(np.array([1.0, 2.0]), [0, 1])
    assert a == b and hash(a) == hash(b) and a != Gaussian([1.0, 2.0]) and a != Laplace(1.0)
    assert repr(Gaussian(1.0)) == "Gaussian(scale=1.0)"
    assert repr(Laplace(2.0, mean=1.0)) == "Laplace(scale=2.0, mean=1.0)"


FEATURES = ["age", "bmi", "C(sex)[T.2]"]


@pytest.mark.parametrize(
    "by_name",
    [
        lambda d: d,
        lambda d: pd.Series(d),
        lambda d: xr.DataArray(list(d.values()), coords={"feature": list(d)}, dims="feature"),
    ],
    ids=["dict", "series", "dataarray"],
)
def test_values_by_feature_name_come_back_in_the_features_order(by_name):
    # Given in another order than the design's, scale and mean in two orders of their own.
    scale = by_name({"C(sex)[T.2]": 3.0, "age": 1.0, "bmi": 2.0})
    mean = by_name({"bmi": 0.2, "C(sex)[T.2]": 0.3, "age": 0.1})
    prior = StudentT(4.0, scale, mean=mean)
    assert prior.names == ("C(sex)[T.2]", "age", "bmi")
    ordered = in_feature_order(prior, FEATURES)
    assert ordered == StudentT(4.0, [1.0, 2.0, 3.0], mean=[0.1, 0.2, 0.3])
    assert ordered.names is None
    np.testing.assert_allclose(
        ordered.log_prob([0.0, 0.0, 0.0]),
        scipy.stats.t(4.0, [0.1, 0.2, 0.3], [1.0, 2.0, 3.0]).logpdf(0.0),
        rtol=1e-12,
    )


def test_a_series_with_positions_for_its_index_is_a_list():
    prior = Gaussian(pd.Series([1.0, 2.0]))
    assert prior.names is None and prior == Gaussian([1.0, 2.0])
    unnamed_dim = Gaussian(xr.DataArray([1.0, 2.0], dims="feature"))
    assert unnamed_dim.names is None and unnamed_dim == Gaussian([1.0, 2.0])
    assert in_feature_order(Gaussian([1.0, 2.0]), 2) == Gaussian([1.0, 2.0])


def test_priors_by_name_compare_by_name_and_print_as_a_mapping():
    a = Laplace({"a": 1.0, "b": 2.0}, mean={"a": 0.5, "b": 0.0})
    b = Laplace({"b": 2.0, "a": 1.0}, mean={"b": 0.0, "a": 0.5})
    assert a == b and hash(a) == hash(b)
    assert a != Laplace([1.0, 2.0], mean=[0.5, 0.0]) and a != Laplace({"a": 2.0, "b": 1.0})
    assert repr(a) == "Laplace(scale={'a': 1.0, 'b': 2.0}, mean={'a': 0.5, 'b': 0.0})"
    assert repr(Gaussian({"a": 1.0}, mean=2.0)) == "Gaussian(scale={'a': 1.0}, mean=2.0)"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Gaussian({"a": 1.0, "b": 2.0}, mean=[0.0, 1.0]), "mean is a list"),
        (lambda: Gaussian([1.0, 2.0], mean={"a": 0.0, "b": 1.0}), "scale is a list"),
        (
            lambda: Gaussian({"a": 1.0, "b": 2.0}, mean={"a": 0.0, "c": 1.0}),
            r"mean names the features \['a', 'c'\] and scale names \['a', 'b'\]",
        ),
        (lambda: Gaussian({"a": 1.0, "b": -2.0}), r"scale\['b'\] must be > 0, got -2.0"),
        (lambda: Gaussian(1.0, mean={"a": float("inf")}), r"mean\['a'\] must be finite"),
        (lambda: Gaussian({"a": [1.0, 2.0]}), r"scale\['a'\] must be one number"),
        (lambda: Gaussian(pd.Series([1.0, 2.0], index=["a", "a"])), "names a more than once"),
        (lambda: Gaussian({}), "scale names no feature"),
    ],
)
def test_bad_values_by_name_are_refused_with_their_name(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_names_that_do_not_match_the_design_are_refused_naming_both():
    prior = Gaussian({"bmii": 1.0, "age": 2.0, "height": 3.0})
    with pytest.raises(ValueError) as err:
        in_feature_order(prior, FEATURES)
    message = str(err.value)
    assert "names 'bmii' (did you mean 'bmi'?), 'height' that the design does not have" in message
    assert "leaves out 'bmi', 'C(sex)[T.2]'" in message
    assert "the design has 3 features (age, bmi, C(sex)[T.2])" in message
    with pytest.raises(ValueError, match="X's 2 columns have no names"):
        in_feature_order(Gaussian({"a": 1.0, "b": 2.0}), 2)
