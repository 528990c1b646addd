"""The card schema: the keys and types each table takes, and the one way a card is refused
(:class:`CardError`, naming the key, the problem and the fix)."""

from __future__ import annotations

import math

__all__ = ["CardError", "check_schema", "fail", "positive"]

_SCHEMA = {
    "": {"title": str, "description": str, "seed": int},
    "data": {
        "source": str,
        "formula": str,
        "target": str,
        "missing": str,
        "id": str,
        "exposure": str,
        "sample_weight": str,
        "trials": str,
        "scale_y": float,
        "standardize": bool,
        "test_fraction": float,
        "split": int,
        "n": int,
        "n_test": int,
    },
    "model": {
        "likelihood": str,
        "sigma": (float, dict),
        "df": float,
        "intercept": (bool, dict),
        "intercept_scale": float,
    },
    "prior": {
        "family": str,
        "scale": (float, list, dict),
        "mean": (float, list, dict),
        "df": float,
        "convention": str,
        "strength": float,
        "l1_ratio": float,
    },
    "posterior": {
        "method": str,
        "chains": int,
        "warmup": int,
        "draws": int,
        "target_accept": float,
        "max_tree_depth": int,
        "dense_mass": (bool, str),
    },
    "compare": {
        "optimizer": str,
        "strengths": (list, dict),
        "lr": float,
        "epochs": int,
        "batch_size": int,
        "converge_lr": float,
        "converge_epochs": int,
        "select_strengths": (list, dict),
    },
    "dropout": {
        "rate": float,
        "tau": float,
        "lengthscale": float,
        "hidden": list,
        "epochs": int,
        "batch_size": int,
        "learning_rate": float,
        "passes": int,
        "methods": list,
        "members": int,
        "vi_steps": int,
        "swag_epochs": int,
    },
}


class CardError(ValueError):
    """A card that cannot be run as written; the message names the key and the fix."""


def fail(where: str, problem: str, fix: str) -> CardError:
    return CardError(f"{where}: {problem}; {fix}")


def check_schema(raw: dict) -> None:
    for key, value in raw.items():
        if key in _SCHEMA and key:
            if not isinstance(value, dict):
                raise fail(
                    f"[{key}]",
                    f"must be a table, got {type(value).__name__}",
                    f"write it as [{key}] with keys below it",
                )
            allowed = _SCHEMA[key]
            for sub, sub_value in value.items():
                if sub not in allowed:
                    raise fail(f"[{key}] {sub}", "unknown key", f"known keys: {', '.join(allowed)}")
                _check_type(f"[{key}] {sub}", sub_value, allowed[sub])
        elif key in _SCHEMA[""]:
            _check_type(key, value, _SCHEMA[""][key])
        else:
            tables = [t for t in _SCHEMA if t]
            raise fail(
                key,
                "unknown key",
                f"top-level keys: {', '.join(_SCHEMA[''])}; "
                f"tables: {', '.join(f'[{t}]' for t in tables)}",
            )


def _check_type(where: str, value, expected) -> None:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    ok = any(
        (k is float and isinstance(value, int | float) and not isinstance(value, bool))
        or (k is int and isinstance(value, int) and not isinstance(value, bool))
        or (k not in (int, float) and isinstance(value, k))
        for k in kinds
    )
    if not ok:
        names = " or ".join(
            {
                float: "a number",
                int: "a whole number",
                str: "a string",
                bool: "true or false",
                list: "a list",
                dict: "a table",
            }[k]
            for k in kinds
        )
        raise fail(where, f"must be {names}, got {value!r}", "fix its value")


def positive(where: str, value) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise fail(where, f"must be > 0, got {value!r}", "give a positive number")
    return float(value)
