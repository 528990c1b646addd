"""Cards write the model vocabulary: likelihoods, intercept priors or none, noise priors by
name, flat and Student-t weight priors with means and one scale per feature, a dense mass."""

import json

import numpy as np
import pytest
import scipy.optimize
import scipy.stats
import xarray as xr

import bayes_reg as br
from bayes_reg.cli import main
from bayes_reg.run.card import CardError, load_card

HEAD = """
[data]
source = "csv:data.csv"
target = "y"
"""


def _card(tmp_path, body: str, rows: int = 80):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 2))
    y = (rng.random(rows) < 1 / (1 + np.exp(-(X @ [1.5, -1.0] + 0.3)))).astype(int)
    lines = ["a,b,y"] + [f"{a},{b},{t}" for (a, b), t in zip(X, y, strict=True)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    path = tmp_path / "card.toml"
    path.write_text(HEAD + body)
    return path


# The keys of the issue, exactly as written there.
ISSUE_CARD = """
[model]
likelihood = "bernoulli"
intercept = false
[prior]
family = "flat"
[posterior]
method = "nuts"
dense_mass = true
"""


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("intercept = false", False),
        ('intercept = {prior = "flat"}', br.Flat()),
        ('intercept = {prior = "gaussian", mean = 9.3, scale = 100.0}', br.Gaussian(100, 9.3)),
        (
            'intercept = {prior = "student-t", df = 3, mean = 8.0, scale = 10.0}',
            br.StudentT(3, 10, 8),
        ),
        ("intercept_scale = 5.0", br.Gaussian(5.0)),
        ("", True),
    ],
)
def test_the_intercept_is_none_flat_or_a_prior_with_a_mean(tmp_path, model, expected):
    body = f'[model]\nsigma = 1.0\n{model}\n[prior]\nfamily = "gaussian"\nscale = 1.0\n'
    assert load_card(_card(tmp_path, body)).model.intercept == expected


def test_the_issue_card_reads_as_written(tmp_path):
    card = load_card(_card(tmp_path, ISSUE_CARD))
    assert card.model.likelihood == "bernoulli" and card.model.intercept is False
    assert card.noise is None and card.prior(80, 2) == br.Flat()
    assert card.sampler.dense_mass and card.posterior["method"] == "nuts"


@pytest.mark.parametrize(
    ("prior", "expected"),
    [
        ('family = "gaussian"\nmean = 0.0\nscale = 10.0', br.Gaussian(10.0)),
        (
            'family = "gaussian"\nmean = [1.0, 0.0]\nscale = [0.5, 2.0]',
            br.Gaussian([0.5, 2], [1, 0]),
        ),
        ('family = "laplace"\nscale = [0.5, 2.0]', br.Laplace([0.5, 2.0])),
        ('family = "student-t"\ndf = 3\nscale = 2.5', br.StudentT(3.0, 2.5)),
        ('family = "flat"', br.Flat()),
    ],
)
def test_the_weight_priors_read_as_written(tmp_path, prior, expected):
    body = f'[model]\nlikelihood = "bernoulli"\n[prior]\n{prior}\n'
    assert load_card(_card(tmp_path, body)).prior(80, 2) == expected


KNOWN, FLAT = "[model]\nsigma = 1.0\n", '[prior]\nfamily = "flat"\n'
BERNOULLI = '[model]\nlikelihood = "bernoulli"\n'


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (BERNOULLI + "sigma = 1.0\n" + FLAT, "no noise scale"),
        ('[model]\nlikelihood = "gaussian"\n' + FLAT, r"\[model\] sigma: missing"),
        (
            '[model]\nlikelihood = "negative-binomial"\n' + FLAT,
            r"sigma: missing; give the overdispersion .* \{prior = \"half-normal\", scale = 1.0\}",
        ),
        ('[model]\nlikelihood = "probit"\n' + FLAT, "unknown likelihood 'probit'"),
        (KNOWN + "df = 3\n" + FLAT, "only the student-t likelihood"),
        (
            KNOWN + 'intercept = {prior = "laplace", scale = 1}\n' + FLAT,
            r"\[model\] intercept: bad intercept",
        ),
        (KNOWN + "intercept = false\nintercept_scale = 2.0\n" + FLAT, "given with intercept"),
        (KNOWN + '[prior]\nfamily = "student-t"\nscale = 1.0\n', "needs df"),
        (KNOWN + '[prior]\nfamily = "gaussian"\ndf = 3\nscale = 1.0\n', "has no df"),
        (KNOWN + FLAT + "scale = 1.0\n", "takes no scale"),
        (KNOWN + '[prior]\nfamily = "gaussian"\nscale = [1.0, -1.0]\n', "-1.0 at index 1"),
        (KNOWN + '[prior]\nfamily = "cauchy"\nscale = 1.0\n', "unknown family 'cauchy'"),
        (
            '[model]\nlikelihood = "poisson"\n'
            + FLAT
            + "[compare]\nstrengths = [1.0]\nlr = 0.1\nepochs = 1\nbatch_size = 1\n",
            "trains least squares, not a poisson model",
        ),
        (KNOWN + FLAT + "[posterior]\ndense_mass = 1\n", "true or false"),
    ],
)
def test_a_bad_model_card_is_refused_on_load(tmp_path, body, match):
    with pytest.raises(CardError, match=match):
        load_card(_card(tmp_path, body))


def test_a_prior_list_of_the_wrong_length_is_refused_before_computing(tmp_path, no_compute, capsys):
    body = (
        '[model]\nlikelihood = "bernoulli"\n[prior]\nfamily = "gaussian"\nscale = [1.0, 2.0, 3.0]\n'
    )
    out = tmp_path / "out"
    assert main(["run", str(_card(tmp_path, body)), "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    assert "3 values of scale, and the design has 2 features (a, b)" in capsys.readouterr().err


def test_a_card_gives_prior_values_by_feature_name_in_a_table(tmp_path, no_compute, capsys):
    logistic = '[model]\nlikelihood = "bernoulli"\n[prior]\nfamily = "gaussian"\n'
    card = load_card(
        _card(tmp_path, logistic + "scale = {b = 1.0, a = 2.0}\nmean = {a = 1.0, b = 0.0}\n")
    )
    assert card.prior(80, ["a", "b"]) == br.Gaussian([2.0, 1.0], mean=[1.0, 0.0])
    # A misspelt name is refused with the design's names, before computing.
    out = tmp_path / "out"
    misspelt = _card(tmp_path, logistic + "scale = {a = 1.0, B = 2.0}\n")
    assert main(["run", str(misspelt), "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "names 'B' that the design does not have, and leaves out 'b'" in err
    assert "a table names them" in err


def test_a_logistic_card_runs_end_to_end(tmp_path):
    body = """
[model]
likelihood = "bernoulli"
intercept = {prior = "student-t", df = 3, mean = 0.0, scale = 10.0}
[prior]
family = "gaussian"
mean = [1.0, 0.0]
scale = [2.0, 1.0]
[posterior]
chains = 2
warmup = 200
draws = 200
dense_mass = true
"""
    out = tmp_path / "out"
    assert main(["run", str(_card(tmp_path, body)), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["likelihood"] == "bernoulli" and summary["sigma"] is None
    assert summary["intercept"] == {"family": "student-t", "df": 3.0, "scale": 10.0, "mean": 0.0}
    assert summary["prior"] == {"family": "gaussian", "scale": [2.0, 1.0], "mean": [1.0, 0.0]}
    tree = xr.open_datatree(out / "posterior.nc")
    assert set(tree["posterior"].data_vars) >= {"w", "b"} and "sigma" not in tree["posterior"]
    assert set(np.unique(tree["posterior_predictive"]["y"].values)) <= {0.0, 1.0}
    # The MAP group: the mode under the same priors, found here by scipy.
    data = np.loadtxt(tmp_path / "data.csv", delimiter=",", skiprows=1)
    X, y = data[:, :2], data[:, 2]

    def negative_log_posterior(theta):
        eta = X @ theta[:2] + theta[2]
        likelihood = np.sum(y * eta - np.logaddexp(0, eta))
        prior = scipy.stats.norm([1.0, 0.0], [2.0, 1.0]).logpdf(theta[:2]).sum()
        return -(likelihood + prior + scipy.stats.t(3, 0.0, 10.0).logpdf(theta[2]))

    ref = scipy.optimize.minimize(negative_log_posterior, np.zeros(3), method="BFGS", tol=1e-12)
    mode = np.append(tree["map"]["w"].values, float(tree["map"]["b"]))
    np.testing.assert_allclose(mode, ref.x, rtol=1e-6, atol=1e-9)
    assert summary["posterior"]["diagnostics"]["divergences"] == 0
    report = (out / "report.html").read_text()
    assert "Likelihood: <b>bernoulli</b>" in report
    # The calibration check of a binary outcome, read by ArviZ from integer classes.
    assert (out / "predictive_check.png").exists() and "Posterior predictive check" in report
    assert tree["observed_data"]["y"].dtype.kind == "i"


def test_a_laplace_card_sets_the_approximation_against_nuts(tmp_path):
    body = """
[model]
likelihood = "bernoulli"
[prior]
family = "gaussian"
scale = 2.5
[posterior]
method = "laplace"
chains = 2
warmup = 200
draws = 300
"""
    out = tmp_path / "out"
    assert main(["run", str(_card(tmp_path, body, rows=15)), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    versus = summary["posterior"]["laplace_vs_nuts"]
    assert set(versus["by_scalar"]) == {"b", "w[a]", "w[b]"}
    assert np.isfinite(versus["log_evidence"]) and (out / "laplace_vs_nuts.png").exists()
    tree = xr.open_datatree(out / "posterior.nc")
    assert tree.attrs["sampler"].startswith("Laplace") and "posterior_nuts" in tree
    assert "The Laplace approximation against NUTS" in (out / "report.html").read_text()


def test_a_glm_card_converts_its_frameworks_penalty_without_sigma(tmp_path):
    body = BERNOULLI + '[prior]\nconvention = "sklearn-logistic"\nstrength = 4.0\n'
    assert load_card(_card(tmp_path, body)).prior(80, 2) == br.Gaussian(2.0)  # N(0, C)


def test_a_convention_of_another_likelihood_is_refused(tmp_path):
    body = BERNOULLI + '[prior]\nconvention = "torch-poisson"\nstrength = 0.1\n'
    with pytest.raises(CardError, match="penalises a poisson likelihood.*use one of"):
        load_card(_card(tmp_path, body))
    body = KNOWN + '[prior]\nconvention = "sklearn-logistic"\nstrength = 1.0\n'
    with pytest.raises(CardError, match="penalises a bernoulli likelihood"):
        load_card(_card(tmp_path, body))


def test_a_poisson_card_models_the_rate_per_unit_of_exposure(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    years = rng.uniform(0.5, 4.0, size=60)
    y = rng.poisson(years * np.exp(X @ [0.4, -0.3] + 0.5))
    lines = ["a,b,years,y"] + [f"{a},{b},{e},{t}" for (a, b), e, t in zip(X, years, y, strict=True)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    card = tmp_path / "card.toml"
    card.write_text(
        '[data]\nsource = "csv:data.csv"\ntarget = "y"\nexposure = "years"\n'
        '[model]\nlikelihood = "poisson"\n[prior]\nfamily = "gaussian"\nscale = 1.0\n'
    )
    out = tmp_path / "out"
    assert main(["run", str(card), "--only", "map", "--out", str(out), "--quiet"]) == 0
    tree = xr.open_datatree(out / "posterior.nc")
    assert list(tree["map"]["w"].feature.values) == ["a", "b"]  # the exposure is no feature
    # The same mode from the Python API with offset log(exposure).
    mode = br.posterior_mode(
        X, y.astype(float), br.Gaussian(1.0), likelihood="poisson", offset=np.log(years)
    )
    np.testing.assert_allclose(tree["map"]["w"].values, mode["w"], rtol=1e-10)
    assert float(tree["map"]["b"]) == pytest.approx(float(mode["b"]), rel=1e-10)
    card.write_text(card.read_text().replace('"poisson"', '"bernoulli"'))
    with pytest.raises(CardError, match="an exposure multiplies the mean of a log-link model"):
        load_card(card)
