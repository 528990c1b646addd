"""Model cards: every shipped card validates; bad cards are refused before any computation."""

from pathlib import Path

import numpy as np
import pytest

from bayes_reg.cards import CardError, load_card, load_data
from bayes_reg.cli import CARDS_DIR

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
        ("nan", r"line 3, column 'b': nan is not finite"),
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
