"""Frozen, validated value objects (priors, noises) as JAX pytrees.

Their numbers become leaves, so a compiled sampler takes them as traced inputs and a new value
of the same kind reuses the compiled program. Rebuilding from leaves skips validation (leaves
may be tracers); every value a user builds is validated on construction.
"""

from __future__ import annotations

from dataclasses import fields

import jax

__all__ = ["register_values", "unchecked"]


def unchecked(cls, *leaves):
    """An instance of the dataclass ``cls`` whose fields are ``leaves`` as they are."""
    value = object.__new__(cls)
    for f, leaf in zip(fields(cls), leaves, strict=True):
        object.__setattr__(value, f.name, leaf)
    return value


def register_values(*classes) -> None:
    """Register each frozen dataclass as a pytree whose leaves are its fields."""
    for cls in classes:
        jax.tree_util.register_pytree_node(
            cls,
            lambda v: (tuple(getattr(v, f.name) for f in fields(v)), None),
            lambda _, leaves, cls=cls: unchecked(cls, *leaves),
        )
