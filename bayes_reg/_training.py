"""What the two training loops share: weight-decay SGD paths and dropout networks."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import optax

#: A final training loss this many times above where training started counts as diverged.
EXPLODED = 1e6


class TrainState(NamedTuple):
    """What one optimisation step carries to the next: the parameters (any pytree) and the
    optimiser's state."""

    params: Any
    opt_state: optax.OptState


def diverged(start, final) -> np.ndarray:
    """Per run: the final loss is not finite, or :data:`EXPLODED` times above ``start``."""
    final = np.asarray(final)
    return ~np.isfinite(final) | ~(final <= EXPLODED * np.asarray(start))
