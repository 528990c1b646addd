"""Every shipped card runs, end to end, so none can ship broken again.

The same code path as `bayes-reg run` (load, run every stage, write atomically), with the
costly budgets cut: fewer NUTS draws, dropout epochs, MC passes, ensemble members, VI steps
and SWAG epochs. The SGD settings stay as
the card has them, since that is where a card breaks (a learning rate that diverges).
"""

import dataclasses
import json
import re
from pathlib import Path

import pytest

from bayes_reg.cli import CARDS_DIR
from bayes_reg.run.card import load_card
from bayes_reg.run.page import write_outputs
from bayes_reg.run.stages import run_card

SHIPPED = sorted(p.stem for p in CARDS_DIR.glob("*.toml"))
NUTS = {"chains": 2, "warmup": 100, "draws": 100}
DROPOUT = {"epochs": 100, "passes": 100, "members": 2, "vi_steps": 1000, "swag_epochs": 50}


def _reduced(card):
    posterior = card.posterior | {k: min(v, card.posterior[k]) for k, v in NUTS.items()}
    changes = {"posterior": posterior}
    if card.dropout is not None:
        changes["dropout"] = card.dropout | {k: min(v, card.dropout[k]) for k, v in DROPOUT.items()}
    if card.compare is not None and "converge_epochs" in card.compare:
        # Full-batch convergence runs (200,000 epochs) are the one SGD budget cut.
        changes["compare"] = card.compare | {
            "converge_epochs": min(card.compare["converge_epochs"], 2000)
        }
    return dataclasses.replace(card, **changes)


def test_the_shipped_cards_are_the_ones_tested():
    assert len(SHIPPED) >= 6 and "diabetes-ridge" in SHIPPED


#: Run with ``-m slow`` only. Each dropout card costs most of a minute even at these budgets
#: (toy-gap-dropout: 44 s of a loaded 2-core run, 34 s of it XLA compiling the eight
#: approximations and NUTS for its shapes), and the default run covers their parts elsewhere:
#: a dropout card end to end through `bayes-reg run` (every method, NUTS, the figures and their
#: alt text, the report, the tree, `predict`) in test_run.py; toy-gap-dropout's own problem and
#: network size (toy_gap, hidden 50, all eight methods against NUTS) through the same
#: `approximations_vs_posterior` in notebooks/03 (test_notebooks.py); every shipped card's
#: settings by test_cards.py::test_shipped_cards_validate; yacht-dropout's data by test_cards.py
#: (test_uci_source_is_the_shipped_yacht_set, test_shipped_yacht_card_reads_the_package_copy).
#: Both cards' budgets in full: the slow test_cli.py::test_shipped_dropout_cards_run_in_full.
SLOW = {"toy-gap-dropout", "yacht-dropout"}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else []) for n in SHIPPED]
)
def test_a_shipped_card_runs_end_to_end(name, tmp_path):
    card = _reduced(load_card(CARDS_DIR / f"{name}.toml"))
    result = run_card(card, progress=False, log=lambda msg: None)
    out = write_outputs(result, tmp_path / name)
    summary = json.loads(Path(out, "summary.json").read_text(), parse_constant=_not_json)
    assert summary["stages"] == list(card.stages)
    assert (out / "posterior.nc").is_file()
    if "posterior" in summary and card.dropout is None:  # sigma's summary where it is sampled
        sigma = result.tree["posterior"].get("sigma")
        expected = None if sigma is None else float(sigma.mean())
        assert summary["posterior"]["sigma_mean"] == expected
    page = (out / "report.html").read_text()
    # Every image says what it shows, and no two say the same.
    alts = re.findall(r'<img alt="([^"]*)"', page)
    assert len(alts) == len(result.figures) == len(list(out.glob("*.png")))
    assert all(len(alt) > 15 for alt in alts) and len(set(alts)) == len(alts), alts
    # The footer names the card, not where it lies on this machine.
    assert str(CARDS_DIR) not in page and f"card {name}.toml" in page


def _not_json(constant):
    raise ValueError(f"summary.json is not strict JSON: {constant}")
