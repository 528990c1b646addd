"""A pytest plugin: each test's duration, and the JAX compilation each test caused.

Loaded by ``run.py`` (``-p compile_profile``). Every process writes JSON lines into
``$BAYES_REG_PROFILE_DIR``: the process that reports results (pytest-xdist's controller, or
pytest itself without workers) each test phase's duration; every process that runs tests each
program JAX traced, lowered or compiled, under the test that was running.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jax.monitoring
import pytest

_STAGES = {
    "/jax/core/compile/jaxpr_trace_duration": "trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "compile",
}
_state: dict = {"test": None, "out": None}


def _write(record: dict) -> None:
    _state["out"].write(json.dumps(record) + "\n")


def _on_duration(event: str, seconds: float, **kwargs) -> None:
    stage = _STAGES.get(event)
    if stage is not None:
        program = kwargs.get("fun_name", "?")
        _write({"stage": stage, "program": program, "seconds": seconds, "test": _state["test"]})


def pytest_configure(config):
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = Path(os.environ["BAYES_REG_PROFILE_DIR"], f"{name}.jsonl")
    _state["out"] = path.open("w", buffering=1)
    jax.monitoring.register_event_duration_secs_listener(_on_duration)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    _state["test"] = item.nodeid


def pytest_runtest_logreport(report):
    # A worker's reports reach the controller too: record each once, where results are reported.
    if "PYTEST_XDIST_WORKER" not in os.environ:
        _write({"phase": report.when, "test": report.nodeid, "seconds": report.duration})
