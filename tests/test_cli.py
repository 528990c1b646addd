import json
import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge

import bayes_reg as br
from bayes_reg.cli import main, one_line_warnings


def _json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_convert_d2l_to_ridge_gives_the_ridge_alpha_that_fits_the_same(capsys, rng):
    out = _json(
        capsys,
        "convert",
        "--from",
        "d2l",
        "--strength",
        "3",
        "--n",
        "20",
        "--sigma",
        "0.01",
        "--to",
        "sklearn-ridge",
        "--json",
    )
    assert out["prior"]["family"] == "gaussian"
    # d2l minimises mean(r^2/2) + (3/2)||w||^2; Ridge with the printed alpha must agree.
    X = rng.normal(size=(20, 5))
    y = X @ rng.normal(size=5) + rng.normal(size=20)
    w, b = np.zeros(5), 0.0
    for _ in range(5000):
        r = X @ w + b - y
        w, b = w - 0.05 * (X.T @ r / 20 + 3 * w), b - 0.05 * r.mean()
    np.testing.assert_allclose(Ridge(alpha=out["strength"]).fit(X, y).coef_, w, atol=1e-10)


def test_convert_to_prior_human_readable(capsys):
    assert (
        main(
            [
                "convert",
                "--from",
                "sklearn-lasso",
                "--strength",
                "0.05",
                "--n",
                "442",
                "--sigma",
                "54",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "laplace prior" in text and "scale =" in text


def test_elastic_net_ratio_is_carried(capsys):
    out = _json(
        capsys,
        "convert",
        "--from",
        "sklearn-elasticnet",
        "--strength",
        "0.1",
        "--l1-ratio",
        "0.3",
        "--n",
        "100",
        "--sigma",
        "2",
        "--to",
        "sklearn-sgd",
        "--json",
    )
    assert out["prior"]["family"] == "elastic-net"
    assert out["l1_ratio"] == pytest.approx(0.3)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--from", "adamw"], "no fixed-prior equivalent"),
        (["--from", "ridge"], "unknown convention 'ridge'"),
        (["--strength", "-1"], "strength must be > 0, got -1.0"),
        (["--n", "0"], "n must be >= 1, got 0"),
        (["--n", "2.5"], "n must be a whole number, got 2.5"),
        (["--sigma", "nan"], "sigma must be finite, got nan"),
        (
            ["--to", "torch-sgd", "--family", "laplace", "--from", "sklearn-lasso"],
            "'sklearn-lasso' has no gaussian|'torch-sgd' has no laplace",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_field(capsys, argv, message):
    base = {"--from": "d2l", "--strength": "3", "--n": "20", "--sigma": "0.01"}
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        base[flag] = value
    args = ["convert"] + [x for kv in base.items() for x in kv]
    assert main(args) == 2
    assert re.search(message, capsys.readouterr().err)


@settings(max_examples=50, deadline=None)
@given(
    strength=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0)),
    n=st.floats(allow_nan=True, allow_infinity=True),
    sigma=st.floats(),
)
def test_any_numbers_give_an_answer_or_a_clear_error(strength, n, sigma):
    # --flag=value so that negative numbers are not read as flags.
    code = main(
        [
            "convert",
            "--from=torch-sgd",
            f"--strength={strength!r}",
            f"--n={n!r}",
            f"--sigma={sigma!r}",
            "--to=keras",
            "--json",
        ]
    )
    assert code in (0, 2)


def test_conventions_lists_every_name(capsys):
    from bayes_reg.conventions import CONVENTIONS

    assert main(["conventions"]) == 0
    out = capsys.readouterr().out
    for name in CONVENTIONS:
        assert name in out
    assert "AdamW" in out


def test_console_script_is_installed():
    exe = shutil.which("bayes-reg")
    if exe is None:
        pytest.skip("bayes-reg is not on PATH (package not installed)")
    proc = subprocess.run(
        [
            exe,
            "convert",
            "--from",
            "keras",
            "--strength",
            "0.01",
            "--n",
            "50",
            "--sigma",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["prior"]["scale"] > 0


def test_the_demo_runs_the_toy_dropout_card_and_every_demo_card_exists():
    from bayes_reg.cli import CARDS_DIR, DEMO_CARDS
    from bayes_reg.run.card import load_card

    assert "toy-gap-dropout" in DEMO_CARDS
    for name in DEMO_CARDS:
        load_card(CARDS_DIR / f"{name}.toml")


@pytest.mark.parametrize(
    "text, message",
    [
        ('[data]\nsource = "toy-gap"\n[dropout]\nrate = 1.5\ntau = 1.0\n', r"\[dropout\] rate"),
        ('[data]\nsource = "toy-gap"\n[dropout]\nrate = 0.1\n', r"\[dropout\] tau: missing"),
    ],
)
def test_a_bad_dropout_card_exits_2_before_computing(tmp_path, capsys, text, message):
    card = tmp_path / "bad.toml"
    card.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(card), "--out", str(out)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["toy-gap-dropout", "yacht-dropout"])
def test_shipped_dropout_cards_run_in_full(name, tmp_path):
    """The shipped budgets: about 2.5 (toy) and 9 (yacht) minutes on 2 CPU cores."""
    out = tmp_path / name
    assert main(["run", name, "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    d = summary["dropout"]
    assert {"mc_dropout", "posterior"} <= set(d["metrics"])
    # Each card's length-scale was chosen so that NUTS converges in function space.
    assert d["bnn"]["diagnostics"]["max_rhat"] <= 1.01
    assert d["bnn"]["diagnostics"]["divergences"] == 0
    assert d["bnn"]["converged"]
    # MC dropout is narrower than the posterior somewhere (toy: in the gap; yacht: at most
    # test points; measured minima of the function-sd ratio 0.11 and 0.10).
    assert d["sd_ratio"]["mc_dropout"]["function"]["min"] < 0.5


# --- refusals (exit code 2) -----------------------------------------------------------------

CLI_BASE = ["convert", "--from", "d2l", "--strength", "3", "--n", "20", "--sigma", "0.01"]


def _cli(argv, capsys):
    try:
        code = main(argv)
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


# --- GLM conventions: no --sigma, and no crossing between likelihoods ---------------------


def test_convert_a_glm_strength_without_sigma_reproduces_the_other_library(capsys):
    """torch's weight decay on BCEWithLogitsLoss, converted to LogisticRegression's C, fits
    what torch fitted (the stored reference of tests/reference/torch_glm.json)."""
    from pathlib import Path

    from sklearn.linear_model import LogisticRegression

    ref = json.loads((Path(__file__).parent / "reference" / "torch_glm.json").read_text())
    case = next(c for c in ref["cases"] if c["convention"] == "torch-bce")
    data = ref["datasets"][case["dataset"]]
    X, y = np.asarray(data["X"]), np.asarray(data["y"])
    out = _json(
        capsys,
        "convert",
        "--from=torch-bce",
        f"--strength={case['wd']!r}",
        f"--n={len(y)}",
        "--to=sklearn-logistic",
        "--json",
    )
    assert out["likelihood"] == "bernoulli" and "sigma" not in out
    assert out["strength"] == pytest.approx(1 / (len(y) * case["wd"]), rel=1e-14)
    fit = LogisticRegression(C=out["strength"], solver="newton-cholesky", tol=1e-14).fit(X, y)
    # Torch converged to gradient norm < 1e-12 and newton-cholesky to its tol 1e-14: the two
    # agree to ~1e-12 (see tests/test_conventions_glm.py); 1e-8 of the largest coefficient.
    scale = np.max(np.abs(case["weight"]))
    np.testing.assert_allclose(fit.coef_.ravel(), case["weight"], rtol=0, atol=1e-8 * scale)
    assert fit.intercept_[0] == pytest.approx(case["bias"], abs=1e-8 * scale)


def test_convert_a_glm_strength_to_prior_human_readable(capsys):
    assert main(["convert", "--from", "sklearn-poisson", "--strength", "0.25", "--n", "16"]) == 0
    text = capsys.readouterr().out
    assert "(n = 16, poisson likelihood)" in text
    assert "gaussian prior on w with scale = 0.5" in text  # 1 / sqrt(n alpha)


def test_sklearn_c_is_converted_as_an_inverse_strength(capsys):
    out = _json(
        capsys,
        "convert",
        "--from=sklearn-logistic",
        "--strength=4",
        "--n=100",
        "--family=elastic-net",
        "--l1-ratio=0.25",
        "--to=statsmodels-binomial",
        "--json",
    )
    assert out["prior"]["gaussian_scale"] == pytest.approx((4 / 0.75) ** 0.5, rel=1e-15)
    assert out["prior"]["laplace_scale"] == pytest.approx(4 / 0.25, rel=1e-15)
    assert out["strength"] == pytest.approx(1 / 400, rel=1e-15)  # alpha = 1 / (n C)
    assert out["l1_ratio"] == pytest.approx(0.25, rel=1e-14)  # L1_wt


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--from", "sklearn-logistic", "--to", "sklearn-ridge"],
            r"cannot convert 'sklearn-logistic' \(bernoulli likelihood\) to 'sklearn-ridge'"
            r" \(gaussian likelihood\): .* only when their data terms are the same likelihood",
        ),
        (
            ["--from", "torch-poisson", "--to", "keras-bce"],
            "only when their data terms are the same likelihood",
        ),
        (
            ["--from", "keras-poisson", "--sigma", "1"],
            "'keras-poisson' has a poisson likelihood, which has no noise scale: leave sigma out",
        ),
        (
            ["--from", "sklearn-ridge"],
            "sigma must be a number, got None: convention 'sklearn-ridge' is least squares",
        ),
        (["--from", "torch-bce", "--family", "laplace"], "'torch-bce' has no laplace penalty"),
    ],
)
def test_glm_conversions_refuse_with_exit_code_2(argv, message, capsys):
    code, err = _cli(["convert", "--strength", "0.1", "--n", "50", *argv], capsys)
    assert code == 2
    assert re.search(message, err), err


def test_conventions_lists_the_glm_conventions_with_their_likelihood(capsys):
    from bayes_reg.conventions import ALL_CONVENTIONS

    assert main(["conventions"]) == 0
    out = capsys.readouterr().out
    for name in ALL_CONVENTIONS:
        assert name in out
    assert "bernoulli" in out and "poisson" in out
    assert "[eps" in out  # "[eps, 1 - eps]" is printed as text, not read as rich markup


def test_the_projects_warnings_print_as_one_line_naming_the_command_once(capsys, monkeypatch):
    """Not as Python shows them (the entry script's line, ``sys.exit(main())``), and once
    though a card's mode and posterior both warn; other warnings as Python shows them."""
    others = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, *rest: others.append(message))
    show = one_line_warnings("run")
    for _ in range(2):
        show(br.UninformedWarning("sigma is its prior"), br.UninformedWarning, "bayes-reg", 6)
    assert capsys.readouterr().err == "bayes-reg run: warning: sigma is its prior\n"
    show(UserWarning("look binary"), UserWarning, "arviz_plots/plot.py", 198)
    assert [str(w) for w in others] == ["look binary"] and not capsys.readouterr().err
