"""Model cards: every shipped card validates; bad cards are refused before any computation."""

from pathlib import Path

import numpy as np
import pytest

from bayes_reg.cli import CARDS_DIR
from bayes_reg.run.card import CardError, load_card, load_data

BASE = """
[data]
source = "diabetes"
[model]
sigma = 54.0
[prior]
convention = "sklearn-lasso"
strength = 2.0
"""


def _card(tmp_path, text, name="card.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", sorted(CARDS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_cards_validate(path):
    card = load_card(path)
    assert card.title and card.description


def test_a_penalty_is_converted_into_its_prior(tmp_path):
    card = load_card(_card(tmp_path, BASE))
    prior = card.prior(n=442)
    # sklearn Lasso alpha = sigma^2 / (n * scale): the Laplace scale of alpha = 2.
    assert prior.family == "laplace"
    assert prior.scale == pytest.approx(54.0**2 / (442 * 2.0), rel=1e-12)


@pytest.mark.parametrize(
    "change, message",
    [
        ('seed = 0\ncolour = "red"\n', "colour: unknown key"),
        ("[nuts]\nchains = 4\n", r"nuts: unknown key"),
        ('[posterior]\nchains = "four"\n', r"\[posterior\] chains: must be a whole number"),
        ('[posterior]\nmethod = "vi"\n', r"unknown \[posterior\] method 'vi'"),
        ("[posterior]\ntarget_accept = 1.5\n", r"\[posterior\] target_accept must lie in \(0, 1\)"),
        ("[posterior]\nmax_tree_depth = 0\n", r"\[posterior\] max_tree_depth must be"),
        ("[posterior]\nmax_tree_depth = 8.5\n", r"\[posterior\] max_tree_depth: must be a whole"),
        (
            '[compare]\noptimizer = "rmsprop"\nstrengths = [1.0]\nlr = 0.1\nepochs = 1\n'
            "batch_size = 1\n",
            r"unknown \[compare\] optimizer 'rmsprop'",
        ),
        (
            '[compare]\noptimizer = "sgd"\nstrengths = [-1.0]\nlr = 0.1\nepochs = 1\n'
            "batch_size = 1\n",
            r"\[compare\] strengths: must be a non-empty list of numbers >= 0",
        ),
    ],
)
def test_bad_keys_name_the_key(tmp_path, change, message):
    with pytest.raises(CardError, match=message):
        load_card(_card(tmp_path, change + BASE if change.startswith("seed") else BASE + change))


@pytest.mark.parametrize(
    "text, message",
    [
        (BASE.replace('source = "diabetes"', 'source = "iris"'), "unknown source 'iris'"),
        (BASE.replace('source = "diabetes"', 'source = "csv:missing.csv"'), "does not exist"),
        (BASE.replace("sigma = 54.0", "sigma = -1.0"), r"\[model\] sigma: must be > 0"),
        (BASE.replace("sigma = 54.0", ""), r"\[model\] sigma: missing"),
        (
            BASE.replace('convention = "sklearn-lasso"', 'convention = "adamw"'),
            "no fixed-prior equivalent",
        ),
        (BASE.replace("strength = 2.0", "scale = 1.0"), "either family \\+ scale, or convention"),
        ("[data\n", "is not valid TOML"),
    ],
)
def test_bad_values_are_refused(tmp_path, text, message):
    with pytest.raises((CardError, ValueError), match=message):
        load_card(_card(tmp_path, text))


def test_csv_source(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = X @ [1.0, -1.0] + 0.1 * rng.normal(size=30)
    lines = ["a,b,y"] + [f"{r[0]},{r[1]},{t}" for r, t in zip(X, y, strict=True)]
    _card(tmp_path, "\n".join(lines) + "\n", "data.csv")
    text = BASE.replace('source = "diabetes"', 'source = "csv:data.csv"\ntarget = "y"')
    data = load_data(load_card(_card(tmp_path, text)))
    assert data.feature_names == ["a", "b"]
    np.testing.assert_allclose(data.X, X)
    np.testing.assert_allclose(data.y, y)


@pytest.mark.parametrize(
    "cell, message",
    [
        ("", r"line 3, column 'b': missing value"),
        ("abc", r"line 3, column 'b': non-numeric"),
        ("nan", r"line 3, column 'b': missing value"),  # NaN/NA are missing, as in R and pandas
        ("inf", r"line 3, column 'b': inf is not finite"),
    ],
)
def test_csv_cells_are_checked(tmp_path, cell, message):
    _card(tmp_path, f"a,b,y\n1,2,3\n4,{cell},6\n7,8,9\n", "data.csv")
    text = BASE.replace('source = "diabetes"', 'source = "csv:data.csv"\ntarget = "y"')
    with pytest.raises(CardError, match=message):
        load_data(load_card(_card(tmp_path, text)))


def test_csv_target_and_constant_columns(tmp_path):
    _card(tmp_path, "a,b,y\n1,5,3\n4,5,6\n7,5,9\n", "data.csv")
    bad_target = BASE.replace('source = "diabetes"', 'source = "csv:data.csv"\ntarget = "z"')
    with pytest.raises(CardError, match=r"column 'z' is not in data.csv; choose one of a, b, y"):
        load_card(_card(tmp_path, bad_target))
    ok = BASE.replace('source = "diabetes"', 'source = "csv:data.csv"\ntarget = "y"')
    with pytest.raises(CardError, match=r"constant column\(s\) b"):
        load_data(load_card(_card(tmp_path, ok)))


def test_uci_source_is_the_shipped_yacht_set(tmp_path):
    yacht = Path(__file__).resolve().parent.parent / "bayes_reg" / "datasets" / "uci" / "yacht"
    text = BASE.replace('source = "diabetes"', f'source = "uci:{yacht}"')
    data = load_data(load_card(_card(tmp_path, text)))
    assert data.X.shape == (277, 6) and data.X_test.shape == (31, 6)


# --- dropout cards ------------------------------------------------------------------------

DROPOUT = """
[data]
source = "toy-gap"
[dropout]
rate = 0.05
tau = 100.0
"""


def test_a_dropout_card_runs_the_dropout_stage_with_documented_defaults(tmp_path):
    card = load_card(_card(tmp_path, DROPOUT))
    assert card.kind == "dropout" and card.stages == ("dropout",)
    assert card.dropout == {
        "rate": 0.05,
        "tau": 100.0,
        "lengthscale": 1e-2,
        "hidden": [50],
        "epochs": 1000,
        "batch_size": 32,
        "learning_rate": 1e-3,
        "passes": 1000,
        "methods": [
            "mc_dropout",
            "deep_ensemble",
            "deep_ensemble_variance",
            "laplace",
            "laplace_sampled",
            "laplace_marglik",
            "mean_field_vi",
            "swag",
        ],
        "members": 5,
        "vi_steps": 20_000,
        "swag_epochs": 1000,
    }
    assert card.posterior == {
        "method": "nuts",
        "chains": 4,
        "warmup": 1000,
        "draws": 1000,
        "target_accept": 0.8,
        "max_tree_depth": 10,
        "dense_mass": "auto",
    }
    with pytest.raises(CardError, match="a \\[dropout\\] card has no linear-model prior"):
        card.prior(100)


def test_a_card_sets_nuts_target_accept_and_max_tree_depth(tmp_path):
    card = load_card(
        _card(tmp_path, BASE + "[posterior]\ntarget_accept = 0.95\nmax_tree_depth = 12\n")
    )
    assert card.posterior["target_accept"] == 0.95 and card.posterior["max_tree_depth"] == 12
    default = load_card(_card(tmp_path, BASE, name="default.toml"))
    assert default.posterior["target_accept"] == 0.8 and default.posterior["max_tree_depth"] == 10


def test_linear_cards_run_sgd_only_with_compare(tmp_path):
    assert load_card(_card(tmp_path, BASE)).stages == ("map", "posterior")
    assert load_card(CARDS_DIR / "diabetes-ridge.toml").stages == ("map", "posterior", "sgd")


@pytest.mark.parametrize(
    "change, message",
    [
        ('colour = "red"', r"\[dropout\] colour: unknown key; known keys: rate, tau"),
        ("rate = 0.05", r"\[dropout\] rate: missing"),  # the line is removed, see below
        ("tau = 100.0", r"\[dropout\] tau: missing"),
        ("rate = 1.0", r"\[dropout\] rate: must lie in \(0, 1\), got 1.0"),
        ("rate = 0.0", r"\[dropout\] rate: must lie in \(0, 1\), got 0.0"),
        ('rate = "high"', r"\[dropout\] rate: must be a number, got 'high'"),
        ("tau = -1.0", r"\[dropout\] tau: must be > 0, got -1.0"),
        ("tau = inf", r"\[dropout\] tau: must be > 0, got inf"),
        ("lengthscale = 0.0", r"\[dropout\] lengthscale: must be > 0"),
        ("learning_rate = -0.1", r"\[dropout\] learning_rate: must be > 0"),
        ("hidden = []", r"\[dropout\] hidden: must be a non-empty list of layer widths"),
        ("hidden = [50, 0]", r"\[dropout\] hidden: must be a non-empty list of layer widths"),
        ("hidden = [50.5]", r"\[dropout\] hidden: must be a non-empty list of layer widths"),
        ("hidden = 50", r"\[dropout\] hidden: must be a list, got 50"),
        ("epochs = 0", r"\[dropout\] epochs: must be >= 1, got 0"),
        ("epochs = 10.5", r"\[dropout\] epochs: must be a whole number, got 10.5"),
        ("batch_size = true", r"\[dropout\] batch_size: must be a whole number, got True"),
        ("passes = -5", r"\[dropout\] passes: must be >= 1, got -5"),
        ("members = 0", r"\[dropout\] members: must be >= 1, got 0"),
        ('methods = ["mc_dropout", "mcmc"]', r"\[dropout\] methods: must name each method once"),
        ("methods = []", r"\[dropout\] methods: must name each method once"),
        ('methods = ["swag", "swag"]', r"\[dropout\] methods: must name each method once"),
        ('methods = "swag"', r"\[dropout\] methods: must be a list"),
    ],
)
def test_bad_dropout_keys_name_the_key(tmp_path, change, message):
    key = change.split(" = ")[0]
    lines = [line for line in DROPOUT.splitlines() if not line.startswith(f"{key} = ")]
    if "missing" not in message:
        lines.append(change)
    with pytest.raises(CardError, match=message):
        load_card(_card(tmp_path, "\n".join(lines) + "\n"))


YACHT = Path(__file__).resolve().parent.parent / "bayes_reg" / "datasets" / "uci" / "yacht"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            DROPOUT + "[prior]\nfamily = 'gaussian'\nscale = 1.0\n",
            r"\[prior\]: a \[dropout\] card compares the dropout network with the Bayesian "
            r"MLP, not a linear model; remove \[prior\]",
        ),
        (DROPOUT + "[model]\nsigma = 1.0\n", r"\[model\]: a \[dropout\] card compares"),
        (DROPOUT + '[posterior]\nmethod = "exact"\n', r"\[posterior\] method: 'exact' needs"),
        (DROPOUT + "[posterior]\nchains = 0\n", r"\[posterior\] chains must be >= 1, got 0"),
        (DROPOUT.replace('"toy-gap"', '"toy-gap"\nn = 1'), r"\[data\] n: must be >= 2, got 1"),
        (DROPOUT.replace('"toy-gap"', '"toy-gap"\nn_test = 0'), r"\[data\] n_test: must be >= 1"),
        (
            DROPOUT.replace('"toy-gap"', '"toy-gap"\nsplit = 1'),
            r"\[data\] split: applies to uci sources only, not to 'toy-gap'; remove it",
        ),
        (
            DROPOUT.replace('"toy-gap"', '"toy-gap"\ntest_fraction = 0.2'),
            r"\[data\] test_fraction: source 'toy-gap' comes with its own test rows",
        ),
        (
            DROPOUT.replace('"toy-gap"', f'"uci:{YACHT}"\nsplit = 20'),
            r"\[data\] split: must lie in \[0, 19\] for yacht, got 20",
        ),
        (
            DROPOUT.replace('"toy-gap"', '"diabetes"'),
            r"\[data\] test_fraction: a \[dropout\] card scores both predictives on test rows",
        ),
        (
            BASE.replace('source = "diabetes"', 'source = "diabetes"\nn = 10'),
            r"\[data\] n: applies to the toy-gap source only, not to 'diabetes'",
        ),
    ],
)
def test_bad_dropout_cards_are_refused(tmp_path, text, message):
    with pytest.raises(CardError, match=message):
        load_card(_card(tmp_path, text))


def test_toy_gap_source_is_the_library_problem(tmp_path):
    from bayes_reg.data import toy_gap

    text = 'seed = 4\n[data]\nsource = "toy-gap"\nn = 30\nn_test = 25\n' + DROPOUT.split("\n", 3)[3]
    data = load_data(load_card(_card(tmp_path, text)))
    ref = toy_gap(n=30, n_test=25, seed=4)
    assert data.feature_names == ["x"]
    np.testing.assert_array_equal(data.X, ref.X_train)
    np.testing.assert_array_equal(data.y_test, ref.y_test)
    assert data.X_test.shape == (25, 1)


def test_shipped_yacht_card_reads_the_package_copy():
    from bayes_reg.uci import UCI_DIR

    card = load_card(CARDS_DIR / "yacht-dropout.toml")
    assert card.data["_path"] == (UCI_DIR / "yacht").resolve()
    data = load_data(card)
    assert data.X.shape == (277, 6) and data.X_test.shape == (31, 6)
    rates = np.loadtxt(UCI_DIR / "yacht" / "dropout_rates.txt")
    taus = np.loadtxt(UCI_DIR / "yacht" / "tau_values.txt")
    # The rate and tau come from the protocol's grid.
    assert np.isclose(rates, card.dropout["rate"]).any()
    assert np.isclose(taus, card.dropout["tau"]).any()
