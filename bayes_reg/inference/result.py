"""The one result type of every posterior bayes_reg draws, linear or network, NUTS or exact."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bayes_reg.inference.diagnostics import Diagnostics

__all__ = ["Posterior"]


class Posterior(NamedTuple):
    """Posterior draws: the ArviZ ``DataTree`` (``posterior``, ``sample_stats`` and what the
    model adds), its diagnostics, the wall time in seconds, and whether the draws are exact
    i.i.d. draws from a closed-form posterior (``exact``) rather than NUTS's."""

    tree: object
    diagnostics: Diagnostics
    seconds: float
    exact: bool = False

    def pooled(self, var: str) -> np.ndarray:
        """The draws of ``var`` with the chains pooled: shape ``(chains * draws, *var_shape)``."""
        values = self.tree["posterior"][var].values
        return values.reshape(-1, *values.shape[2:])
