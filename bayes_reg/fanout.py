"""Independent tasks fanned out over processes: Ray where it is installed, local ones otherwise.

A sweep of cards, the splits of the UCI protocol and the replicates of simulation-based
calibration are each many independent calls of one function. :func:`fan_out` runs them as
:class:`Task`\\ s on a Ray cluster (a local Ray instance over this machine's cores by default,
or an existing cluster by address) or, without Ray, in a pool of local processes, and returns
one :class:`Outcome` per task, in the order given: its value, or its failure in words. A task
that raises, or whose worker dies, never costs the others their results.

Workers are set up for JAX before they import it (:func:`worker_env`): ``cpus_per_task`` CPU
devices and XLA threads each, float64, and the driver's persistent compilation cache. A worker
process runs many tasks one after another, so a program it compiled for the first task serves
the rest, and the cache serves every worker that shares its filesystem.

This module imports neither JAX nor Ray at import time: a worker imports it before JAX starts.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bayes_reg import _validate

__all__ = [
    "ENGINES",
    "Outcome",
    "Task",
    "fan_out",
    "ray_available",
    "resolve_engine",
    "values_or_raise",
    "worker_env",
]

#: How tasks are run: ``"ray"`` (a local instance or the cluster at ``address``), ``"processes"``
#: (a pool of local processes), ``"auto"`` (Ray where it is installed).
ENGINES = ("auto", "ray", "processes")

#: What to install for the Ray engine, said wherever Ray is missing.
RAY_HINT = 'pip install "bayes-reg[ray]"'


@dataclass(frozen=True)
class Task:
    """One call ``fn(**kwargs)``, known by ``name`` in progress lines and failures.

    ``fn`` must be importable by name in a worker (a function at the top level of a module).
    """

    name: str
    fn: Callable
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What became of a task: its ``value``, or ``error`` (the failure in words)."""

    name: str
    value: Any = None
    error: str | None = None
    seconds: float = float("nan")
    worker: str = ""  # the Ray node (if any), host and process id that ran it

    @property
    def ok(self) -> bool:
        return self.error is None


def ray_available() -> bool:
    """Whether Ray is installed (without importing it)."""
    from importlib.util import find_spec

    return find_spec("ray") is not None


def resolve_engine(engine: str | None, address: str | None = None) -> str | None:
    """The engine that will run the tasks: ``"ray"`` or ``"processes"`` (``"auto"``: Ray where
    it is installed or an ``address`` is given), or ``None`` where ``engine`` is ``None`` (a
    caller's "in this process"). Refuses an unknown engine, Ray where it is not installed, and
    an ``address`` for anything but Ray."""
    if engine is None:
        if address is not None:
            raise ValueError("address names a Ray cluster: give engine='ray' (or 'auto')")
        return None
    engine = _validate.one_of("engine", engine, ENGINES)
    if engine == "auto":
        engine = "ray" if ray_available() or address is not None else "processes"
    if engine == "ray" and not ray_available():
        raise ModuleNotFoundError(f"the Ray engine needs Ray: {RAY_HINT}")
    if address is not None and engine != "ray":
        raise ValueError("address names a Ray cluster: use the Ray engine")
    return engine


def worker_env(cpus_per_task: int = 1) -> dict[str, str]:
    """Environment variables for a worker process, set before it imports JAX.

    ``cpus_per_task`` JAX CPU devices and math-library threads, so workers side by side do not
    oversubscribe the cores (with one CPU, XLA's own thread pool is turned off); float64 as
    everywhere in bayes_reg; and the persistent compilation cache of this process, so a program
    compiled once serves every worker that can reach the same folder (with a size limit, which
    makes JAX lock the folder while an entry is written).
    """
    from bayes_reg.cache import cache_max_bytes, default_cache_dir

    cpus = str(cpus_per_task)
    env = {
        "JAX_NUM_CPU_DEVICES": cpus,
        "JAX_ENABLE_X64": "1",
        "OMP_NUM_THREADS": cpus,
        "OPENBLAS_NUM_THREADS": cpus,
        "MKL_NUM_THREADS": cpus,
        "JAX_COMPILATION_CACHE_DIR": os.environ.get(
            "JAX_COMPILATION_CACHE_DIR", str(default_cache_dir())
        ),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
        "JAX_COMPILATION_CACHE_MAX_SIZE": str(cache_max_bytes()),  # locks the shared folder
    }
    flags = os.environ.get("XLA_FLAGS", "")
    if cpus_per_task == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        flags = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    if flags:
        env["XLA_FLAGS"] = flags
    for name in ("JAX_PLATFORMS", "BAYES_REG_CACHE_DIR", "MPLBACKEND"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _run(task: Task) -> Outcome:
    """Run one task where it lands, turning its exception into words."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        worker = f"node {sys.modules['ray'].get_runtime_context().get_node_id()[:12]} {worker}"
    start = time.perf_counter()
    try:
        value = task.fn(**task.kwargs)
    except Exception as err:  # reported by the task's name; the other tasks go on
        error = "".join(traceback.format_exception_only(err)).strip()
        detail = "".join(traceback.format_exception(err))
        return Outcome(
            task.name,
            error=f"{error}\n{detail}",
            worker=worker,
            seconds=time.perf_counter() - start,
        )
    return Outcome(task.name, value, seconds=time.perf_counter() - start, worker=worker)


def fan_out(
    tasks: Iterable[Task],
    *,
    engine: str = "auto",
    address: str | None = None,
    cpus_per_task: int = 1,
    workers: int | None = None,
    retries: int = 1,
    progress: bool = True,
    label: str = "tasks",
    on_outcome: Callable[[Outcome, int, int], None] | None = None,
) -> list[Outcome]:
    """Run independent tasks in parallel and return their outcomes in the order given.

    Parameters
    ----------
    tasks : iterable of Task
        Independent calls; names must be unique.
    engine : {"auto", "ray", "processes"}
        ``"auto"``: Ray where it is installed, else local processes.
    address : str, optional
        ``HOST:PORT`` of a running Ray cluster (``ray start --head``); default a local Ray
        instance over this machine's cores. Needs Ray.
    cpus_per_task : int
        CPU cores (and JAX CPU devices) each task gets.
    workers : int, optional
        Local processes side by side (the processes engine; default cores // cpus_per_task).
    retries : int
        How many times a task whose worker died (killed, out of memory) is run again. A task
        that raises is not retried: its error is reported. (A local process that dies breaks
        its pool: every task not yet finished runs again in a fresh one.)
    progress : bool
        A bar over the tasks on a terminal.
    on_outcome : callable, optional
        Called in the driver as each task finishes: ``on_outcome(outcome, done, total)``.

    Examples
    --------
    >>> import json
    >>> outs = fan_out([Task("list", json.loads, {"s": "[1, 2]"})], engine="processes",
    ...                workers=1, progress=False)
    >>> [(o.name, o.value) for o in outs]
    [('list', [1, 2])]
    """
    tasks = list(tasks)
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError("task names must be unique: each names its result and its failure")
    engine = resolve_engine(engine, address)
    cpus_per_task = _validate.positive_int("cpus_per_task", cpus_per_task)
    retries = _validate.integer("retries", retries, minimum=0)
    if not tasks:
        return []
    outcomes: dict[str, Outcome] = {}

    def finished(outcome: Outcome) -> None:
        outcomes[outcome.name] = outcome
        advance()
        if on_outcome is not None:
            on_outcome(outcome, len(outcomes), len(tasks))

    with _bar(progress, len(tasks), label) as advance:
        env = worker_env(cpus_per_task)
        if engine == "ray":
            _on_ray(tasks, env, address, cpus_per_task, retries, finished)
        else:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            count = workers or max(1, (cores or os.cpu_count() or 1) // cpus_per_task)
            _on_processes(tasks, env, min(count, len(tasks)), retries, finished)
    return [outcomes[name] for name in names]


class _bar:
    """A rich bar over the tasks on a terminal; yields the function that advances it."""

    def __init__(self, enabled: bool, total: int, label: str):
        from rich.console import Console

        self.enabled = enabled and Console().is_terminal
        self.total, self.label = total, label

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.bar = Progress(self.label, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self.bar.start()
        task = self.bar.add_task(self.label, total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.stop()


def _on_ray(tasks, env, address, cpus_per_task, retries, finished) -> None:
    import ray

    started = not ray.is_initialized()
    if started:
        with warnings.catch_warnings():
            # Ray starts its servers as subprocesses (a fork that execs at once); JAX, running
            # in this process, warns of any fork.
            warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
            ray.init(
                address=address or "local",  # a new instance, not the one `ray start` left
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
    pending = {}
    try:
        # SPREAD: a sweep's tasks go to every node, not first to fill the one they came from.
        # The environment goes with each task, so it holds on a cluster the caller joined.
        remote = ray.remote(_run).options(
            num_cpus=cpus_per_task,
            max_retries=retries,
            scheduling_strategy="SPREAD",
            runtime_env={"env_vars": env},
        )
        pending = {remote.remote(task): task for task in tasks}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(done[0])
            try:
                finished(ray.get(done[0]))
            except ray.exceptions.RayError as err:  # the worker died, retries spent
                finished(Outcome(task.name, error=f"its worker failed: {_first_line(err)}"))
    except BaseException:  # Ctrl-C: a cluster would otherwise run the rest on its own
        for ref in pending:
            ray.cancel(ref)
        raise
    finally:
        if started:
            ray.shutdown()


@contextmanager
def _environ(env: dict[str, str]):
    """``env`` in this process's environment while worker processes start, then as before: a
    spawned worker imports the driver's main script (and so perhaps JAX) before anything else."""
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _on_processes(tasks, env, count, retries, finished) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # spawn: a forked child would inherit the driver's running JAX threads.
    context = multiprocessing.get_context("spawn")
    attempts = {task.name: 0 for task in tasks}
    queue = list(tasks)
    while queue:
        broken = []
        with ProcessPoolExecutor(count, context) as pool:
            with _environ(env):  # the pool starts its processes as tasks are submitted
                pending = {pool.submit(_run, task): task for task in queue}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = pending.pop(future)
                        try:
                            finished(future.result())
                        except BrokenProcessPool:  # a worker died: every unfinished task lost
                            broken.append(task)
            except BaseException:  # Ctrl-C: the tasks not started never start
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        queue = []
        for task in broken:
            attempts[task.name] += 1
            if attempts[task.name] > retries:
                finished(
                    Outcome(
                        task.name,
                        error="a worker process died (killed or out of memory) while it "
                        f"ran or waited, {attempts[task.name]} time(s)",
                    )
                )
            else:
                queue.append(task)


def values_or_raise(outcomes: list[Outcome], what: str) -> list:
    """The tasks' values, or one ``RuntimeError`` naming every failed task (``what`` they
    are, e.g. ``"splits of yacht"``) with the first failure in full: for callers whose
    result would be incomplete without all of them."""
    failed = [o for o in outcomes if not o.ok]
    if failed:
        lines = [f"{o.name}: {o.error.splitlines()[0]}" for o in failed]
        raise RuntimeError(
            f"{len(failed)} of {len(outcomes)} {what} failed:\n  "
            + "\n  ".join(lines)
            + f"\nThe first failure in full:\n{failed[0].error}"
        )
    return [o.value for o in outcomes]


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
