"""The one result type of every posterior bayes_reg draws, linear or network, NUTS or exact."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bayes_reg.inference.diagnostics import Diagnostics

__all__ = ["Posterior"]


class Posterior:
    """Posterior draws: the ArviZ ``DataTree`` (``posterior``, ``sample_stats`` and what the
    model adds), its diagnostics, the wall time in seconds, and whether the draws are exact
    i.i.d. draws from a closed-form posterior (``exact``) rather than NUTS's.

    ``diagnostics`` may be given as a function of no arguments: it is then computed on first
    use and kept (R-hat and ESS over hundreds of parameters cost a good part of a repeat fit,
    which a loop over fits need not pay).
    """

    __slots__ = ("_diagnostics", "exact", "seconds", "tree")

    def __init__(
        self,
        tree,
        diagnostics: Diagnostics | Callable[[], Diagnostics],
        seconds: float,
        exact: bool = False,
    ):
        self.tree, self._diagnostics, self.seconds, self.exact = tree, diagnostics, seconds, exact

    @property
    def diagnostics(self) -> Diagnostics:
        """R-hat, ESS, divergences, tree depth and E-BFMI of the draws, with their problems."""
        if not isinstance(self._diagnostics, Diagnostics):
            self._diagnostics = self._diagnostics()
        return self._diagnostics

    def pooled(self, var: str) -> np.ndarray:
        """The draws of ``var`` with the chains pooled: shape ``(chains * draws, *var_shape)``."""
        values = self.tree["posterior"][var].values
        return values.reshape(-1, *values.shape[2:])

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "sampled"
        return f"Posterior({kind}, {self.seconds:.3g} s, groups {list(self.tree.children)})"
