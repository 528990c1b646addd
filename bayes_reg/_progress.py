"""Progress bars over compiled loops.

A compiled program cannot hold a Python object, so it reports through
``jax.debug.callback(partial(HUB.advance, steps))``; :class:`progress_bar` points the hub
at a rich bar for the duration of one run, and nothing is shown when no bar is active.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import signal
import threading
from collections.abc import Callable

import jax


class _Hub:
    """Where compiled programs report progress: to the bar, while one is open; and where an
    interruption held by :class:`progress_bar` stops the program at its next report."""

    active: Callable[[int], None] | None = None
    interrupted: bool = False

    def advance(self, steps: int, *_) -> None:
        if self.interrupted:
            # Raised in a host callback, this aborts the program (as a JaxRuntimeError), which
            # would otherwise run to its end: progress_bar turns it back into the interruption.
            raise KeyboardInterrupt
        if self.active is not None:
            self.active(steps)


HUB = _Hub()


def _not_the_interruption(record: logging.LogRecord) -> bool:
    return not (record.exc_info and record.exc_info[0] is KeyboardInterrupt)


# JAX logs every exception a debug callback raises, with its traceback: not this one, which
# the user asked for by pressing Ctrl-C.
logging.getLogger("jax._src.debugging").addFilter(_not_the_interruption)


def report_every(i, every: int, when=True) -> None:
    """Inside a compiled loop: advance the open bar by ``every`` on each ``every``-th step
    (and only ``when`` it holds: a traced flag may silence a loop)."""
    # The step count is bound on the host, not passed as an argument: an argument is copied
    # out of the program on every call, which made each report ~4x as costly (58 against
    # 16 us), 7 ms of a 55 ms diabetes NUTS run at 160 reports.
    jax.lax.cond(
        (i % every == every - 1) & when,
        lambda: jax.debug.callback(functools.partial(HUB.advance, every)),
        lambda: None,
    )


def _on_terminal() -> bool:
    """Whether standard output is a terminal (a bar redrawn into a file or pipe is noise)."""
    from rich.console import Console

    return Console().is_terminal


class progress_bar:
    """A rich progress bar over a compiled run's steps.

    A no-op when disabled or when standard output is not a terminal. The compiled programs
    report whether or not a bar is open, so showing one never changes a result.

    Ctrl-C during the run stops the program at its next progress report (a compiled program
    cannot be stopped from outside) and is then raised as ``KeyboardInterrupt``, not as the
    ``JaxRuntimeError`` the aborted program raises: the command line reports an interruption
    (exit 130), not a failure (exit 1).
    """

    def __init__(self, enabled: bool, total: int, label: str = "sampling"):
        self.enabled = enabled and _on_terminal()
        self.total, self.label = total, label

    def __enter__(self):
        HUB.interrupted, self.previous = False, None
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self.previous = signal.signal(signal.SIGINT, self._hold)
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.bar = Progress(
            self.label, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
        )
        self.bar.start()
        task = self.bar.add_task(self.label, total=self.total)
        HUB.active = lambda steps: self.bar.advance(task, steps)
        return HUB.active

    def _hold(self, *_):
        HUB.interrupted = True

    def __exit__(self, *exc):
        interrupted, HUB.interrupted = HUB.interrupted, False
        if self.enabled:
            HUB.active = None
            self.bar.stop()
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if interrupted:
            # JAX keeps the aborted program's error for its next barrier (else at exit).
            with contextlib.suppress(jax.errors.JaxRuntimeError):
                jax.effects_barrier()
            raise KeyboardInterrupt from None
        return False
