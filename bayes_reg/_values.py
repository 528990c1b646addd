"""Frozen, validated value objects (priors, noises) as JAX pytrees.

Their numbers become leaves, so a compiled sampler takes them as traced inputs and a new value
of the same kind reuses the compiled program. Rebuilding from leaves skips validation (leaves
may be tracers); every value a user builds is validated on construction.

Importing this module does not import JAX: a command that only builds values (``bayes-reg
cards``, ``convert``) never pays for it. The classes are registered when JAX is imported, by
whoever imports it first (:func:`after_import`), or at once when it already is.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import fields
from types import ModuleType

__all__ = ["after_import", "register_values", "unchecked"]


def unchecked(cls, *leaves):
    """An instance of the dataclass ``cls`` whose fields are ``leaves`` as they are."""
    value = object.__new__(cls)
    for f, leaf in zip(fields(cls), leaves, strict=True):
        object.__setattr__(value, f.name, leaf)
    return value


def register_values(*classes) -> None:
    """Register each frozen dataclass as a pytree whose leaves are its fields: now if JAX is
    imported, else as soon as it is."""
    after_import("jax", lambda jax: _register(jax, classes))


def _register(jax: ModuleType, classes) -> None:
    for cls in classes:
        jax.tree_util.register_pytree_node(
            cls,
            lambda v: (tuple(getattr(v, f.name) for f in fields(v)), None),
            lambda _, leaves, cls=cls: unchecked(cls, *leaves),
        )


#: Callbacks waiting for a top-level module to be imported, by the module's name.
_WAITING: dict[str, list[Callable[[ModuleType], None]]] = {}


def after_import(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call ``callback(module)`` once the top-level module ``name`` has been imported: now if it
    is in ``sys.modules``, else right after whoever imports it first has executed it."""
    if name in sys.modules:
        callback(sys.modules[name])
        return
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    _WAITING.setdefault(name, []).append(callback)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a module someone waits for, it has the module's own loader run
    the callbacks once the module has executed, and leaves ``sys.meta_path`` when no one waits.
    (A look-up that only asks whether a module is installed, ``importlib.util.find_spec``,
    executes nothing and keeps the callbacks waiting.)"""

    def __init__(self):
        self._finding = False

    def find_spec(self, name, path=None, target=None):
        if name not in _WAITING or self._finding:
            return None
        self._finding = True
        try:
            spec = importlib.util.find_spec(name)  # the finders that really find it
        finally:
            self._finding = False
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_call_back(module):
            exec_module(module)
            for callback in _WAITING.pop(name, ()):
                callback(module)
            if not _WAITING and self in sys.meta_path:
                sys.meta_path.remove(self)

        spec.loader.exec_module = exec_then_call_back
        return spec


_FINDER = _AfterImport()
