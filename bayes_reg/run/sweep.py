"""`bayes-reg sweep`: one card over a grid of seeds, splits and settings, one task each.

Every combination of the grid is the card with some keys set (``seed``, ``data.split``,
``prior.strength`` ...), run as :func:`bayes_reg.fanout.fan_out` task on a Ray cluster or in
local processes, and written as ``bayes-reg run`` writes it, atomically, into its own folder
of the sweep's folder. The sweep's folder also holds ``sweep.nc`` and ``sweep.csv``, every
number of the combinations' ``summary.json`` over the sweep's dims, and
``bayes-reg-sweep.json``, the grid and what became of each combination (written last; it marks
the folder as a sweep's). A rerun skips the combinations already finished; a combination that
fails is reported by name, and the others' results are kept.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bayes_reg import _validate
from bayes_reg.fanout import RAY_HINT, Outcome, Task, fan_out, resolve_engine
from bayes_reg.run.card import load_card
from bayes_reg.run.results_dir import OutputDirError, check_location, is_result

__all__ = ["SWEEP_MANIFEST", "Sweep", "parse_setting", "parse_splits", "run_sweep"]

#: Written last into a sweep's folder: the card, the grid, each combination's outcome.
SWEEP_MANIFEST = "bayes-reg-sweep.json"
_MERGED = ("sweep.nc", "sweep.csv")
_WRITER = "bayes-reg"


def parse_setting(text: str) -> tuple[str, list]:
    """``KEY=V1,V2,...`` as the key and its values, each read as a TOML value.

    A value TOML cannot read (a bare word such as ``laplace``) is taken as a string, so
    ``prior.family=gaussian,laplace`` and ``dropout.hidden=[50],[100,100]`` both work.

    >>> parse_setting("prior.strength=0.1,1,10")
    ('prior.strength', [0.1, 1, 10])
    >>> parse_setting("prior.family=gaussian,laplace")
    ('prior.family', ['gaussian', 'laplace'])
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ValueError(f"--set {text!r}: write KEY=VALUE or KEY=V1,V2,... (e.g. seed=3)")
    try:
        parsed = tomllib.loads(f"v = [{values}]")["v"]
    except tomllib.TOMLDecodeError:
        parsed = [_toml_or_text(v.strip()) for v in values.split(",")]
    if not parsed:
        raise ValueError(f"--set {text!r}: no values after '='")
    return key, parsed


def _toml_or_text(value: str):
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def parse_splits(specs: Sequence[str]) -> list[int]:
    """Split numbers from ``"3"``, ``"0-19"`` or several of either.

    >>> parse_splits(["0-3", "7"])
    [0, 1, 2, 3, 7]
    """
    splits = []
    for spec in specs:
        first, dash, last = spec.partition("-")
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise ValueError(f"--splits {spec!r}: write a number or a range such as 0-19") from None
        if low < 0 or high < low:
            raise ValueError(f"--splits {spec!r}: a range runs from a low to a high split >= 0")
        splits += [k for k in range(low, high + 1) if k not in splits]
    return splits


@dataclass(frozen=True)
class Sweep:
    """A card and its grid: ``dims`` maps each swept key to its values, in order."""

    card: Path
    dims: Mapping[str, list]
    only: tuple[str, ...] | None = None

    def combinations(self) -> list[dict]:
        keys = list(self.dims)
        return [
            dict(zip(keys, values, strict=True))
            for values in itertools.product(*self.dims.values())
        ]

    @staticmethod
    def name(combination: Mapping) -> str:
        """The folder of a combination, e.g. ``seed=0,prior.strength=0.1``."""
        text = ",".join(f"{key}={_label(value)}" for key, value in combination.items())
        return quote(text, safe="=,.-+_[]")


def _label(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def run_combination(card: str, overrides: dict, out: str, only: list[str] | None) -> str:
    """One combination, in a worker: the card with ``overrides`` run and written to ``out``."""
    from bayes_reg.run.page import write_outputs
    from bayes_reg.run.stages import run_card

    result = run_card(load_card(card, overrides), only=only, progress=False, log=lambda _: None)
    return str(write_outputs(result, out))


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    engine: str = "auto",
    address: str | None = None,
    cpus_per_task: int = 1,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Run every combination of ``sweep`` not finished before into ``out``; merge them all.

    Every combination's card is validated before any task starts. Returns the sweep's record
    (what ``bayes-reg-sweep.json`` holds): the grid and each combination's ``status``
    (``"done"``, ``"finished before"`` or ``"failed"``, with its ``error``).
    """
    cpus_per_task = _validate.positive_int("cpus_per_task", cpus_per_task)
    on_ray = resolve_engine(engine, address) == "ray"
    combos = sweep.combinations()
    for key, values in sweep.dims.items():
        if len({Sweep.name({key: v}) for v in values}) < len(values):
            raise ValueError(f"{key}: a value is given twice; give each value once")
    cards = {Sweep.name(c): load_card(sweep.card, c) for c in combos}  # refuses bad values now
    for card in cards.values():
        card.select_stages(sweep.only)
    out = _check_sweep_dir(out, sweep, list(cards), protected=next(iter(cards.values())).inputs)
    combos_by_name = dict(zip(cards, combos, strict=True))
    record = {
        "written_by": _WRITER,
        "card": str(sweep.card),
        "only": sweep.only and list(sweep.only),
        "dims": {k: list(v) for k, v in sweep.dims.items()},
        "combinations": {
            n: {"set": c, "status": "finished before" if is_result(out / n) else "pending"}
            for n, c in combos_by_name.items()
        },
        "files": list(_MERGED),
    }
    todo = [n for n, c in record["combinations"].items() if c["status"] == "pending"]
    if len(todo) < len(cards):
        log(f"{len(cards) - len(todo)} of {len(cards)} combination(s) finished before: skipped")
    where = f"the Ray cluster at {address}" if address else "a local Ray instance"
    log(f"{len(todo)} combination(s) to run on {where if on_ray else 'local processes'}")
    if engine == "auto" and not on_ray and todo:
        log(f"Ray is not installed; for a cluster, {RAY_HINT} (README: Running on a cluster)")
    out.mkdir(parents=True, exist_ok=True)
    # Written first and after every task: the folder is known as this sweep's from the start,
    # so an interrupted sweep resumes.
    _write_record(out, record)

    def finished(outcome: Outcome, done: int, total: int) -> None:
        entry = record["combinations"][outcome.name]
        if outcome.ok:
            entry |= {"status": "done", "seconds": round(outcome.seconds, 3)}
            entry |= {"worker": outcome.worker}
        else:
            entry |= {"status": "failed", "error": outcome.error}
        _write_record(out, record)
        state = f"done in {outcome.seconds:.1f} s" if outcome.ok else "FAILED"
        log(f"{done}/{total} {outcome.name}: {state}")

    tasks = [
        Task(
            n,
            run_combination,
            dict(
                card=str(sweep.card),
                overrides=combos_by_name[n],
                out=str(out / n),
                only=sweep.only and list(sweep.only),
            ),
        )
        for n in todo
    ]
    fan_out(
        tasks,
        engine=engine,
        address=address,
        cpus_per_task=cpus_per_task,
        progress=progress,
        label="sweep",
        on_outcome=finished,
    )
    _write_merged(out, sweep, list(cards))
    return record


def _write_record(out: Path, record: dict) -> None:
    _write_atomic(out / SWEEP_MANIFEST, json.dumps(record, indent=1) + "\n")


def _check_sweep_dir(out, sweep: Sweep, names: list[str], *, protected) -> Path:
    """``out`` if a sweep of this card may write it: new, empty, or this card's sweep."""
    out = check_location(out, protected=protected)
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return out

    def refuse(problem: str) -> OutputDirError:
        return OutputDirError(f"--out {out}: {problem}; name a new or empty folder")

    if not out.is_dir():
        raise refuse("is a file, not a folder")
    try:
        record = json.loads((out / SWEEP_MANIFEST).read_text())
        ours = record["written_by"] == _WRITER
    except (OSError, ValueError, KeyError, TypeError):
        raise refuse(f"holds files bayes-reg did not write (no {SWEEP_MANIFEST})") from None
    if not ours:
        raise refuse(f"its {SWEEP_MANIFEST} is not one that bayes-reg wrote")
    if Path(record["card"]).resolve() != sweep.card.resolve():
        raise refuse(f"holds a sweep of another card ({record['card']})")
    known = {SWEEP_MANIFEST, *record["files"], *record["combinations"], *names}
    # Hidden ".NAME.partial-..." folders are what an interrupted write of NAME left behind.
    foreign = sorted(
        p.name for p in out.iterdir() if p.name not in known and _written_from(p.name) not in known
    )
    if foreign:
        raise refuse(f"holds files bayes-reg did not write ({', '.join(foreign[:3])})")
    return out


def _written_from(name: str) -> str:
    return name[1:].split(".partial")[0].split(".old-")[0] if name.startswith(".") else ""


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def _flat_numbers(tree, prefix: str = "") -> dict[str, float]:
    """Every number of a summary, keyed by its path (``dropout.metrics.mc_dropout.rmse``)."""
    if isinstance(tree, Mapping):
        out = {}
        for key, value in tree.items():
            out |= _flat_numbers(value, f"{prefix}{key}.")
        return out
    if isinstance(tree, int | float) and not isinstance(tree, bool):
        return {prefix[:-1]: float(tree)}
    return {}


def _write_merged(out: Path, sweep: Sweep, names: list[str]) -> None:
    """``sweep.nc`` and ``sweep.csv``: every combination's summary numbers over the dims."""
    import numpy as np
    import xarray as xr

    numbers = {}
    for name in names:
        summary = out / name / "summary.json"
        if is_result(out / name) and summary.is_file():
            numbers[name] = _flat_numbers(json.loads(summary.read_text()))
    keys = sorted({k for row in numbers.values() for k in row} - set(sweep.dims))
    shape = tuple(len(v) for v in sweep.dims.values())
    data = {k: np.full(len(names), math.nan) for k in keys}
    for i, name in enumerate(names):
        for k in keys:
            data[k][i] = numbers.get(name, {}).get(k, math.nan)
    coords = {
        dim: [v if isinstance(v, int | float | str) else _label(v) for v in values]
        for dim, values in sweep.dims.items()
    }
    merged = xr.Dataset(
        {k: (tuple(sweep.dims), v.reshape(shape)) for k, v in data.items()}
        | {"finished": (tuple(sweep.dims), np.isin(names, list(numbers)).reshape(shape))},
        coords=coords,
        attrs={"card": str(sweep.card), "written_by": _WRITER},
    )
    tmp = out / ".sweep.nc.partial"
    merged.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, out / "sweep.nc")
    table = merged.to_dataframe().reset_index()
    table.insert(0, "combination", names)
    _write_atomic(out / "sweep.csv", table.to_csv(index=False))
