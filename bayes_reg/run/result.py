"""What a run of a card produced, before it is written: the DataTree, the summary, the
figures and the report's sections."""

from __future__ import annotations

from dataclasses import dataclass, field

import xarray as xr

from bayes_reg.run.card import Card

__all__ = ["RunResult"]


@dataclass
class RunResult:
    """What a card run produced, before it is written."""

    card: Card
    tree: xr.DataTree
    summary: dict
    figures: dict = field(default_factory=dict)  # name -> matplotlib Figure
    sections: list = field(default_factory=list)  # (title, paragraph html, [figure names])
