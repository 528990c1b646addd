"""Spread independent runs over every visible device with JAX's own sharding.

Arrays whose leading axis indexes independent runs (networks of a grid, data splits) are
placed split along that axis on a one-dimensional mesh of all devices; the jitted, vmapped
programs that consume them then run each device's share where it lies. On one device, or
when the runs do not divide evenly, the arrays are left where they are.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def shard_runs(*trees):
    """The pytrees ``trees`` with every leaf split along its leading (runs) axis."""
    devices = jax.devices()
    leaves = jax.tree.leaves(trees)
    runs = leaves[0].shape[0]
    if len(devices) == 1 or runs % len(devices) or any(x.shape[0] != runs for x in leaves):
        return trees
    sharding = NamedSharding(Mesh(np.array(devices), ("runs",)), PartitionSpec("runs"))
    return jax.tree.map(lambda x: jax.device_put(x, sharding), trees)
