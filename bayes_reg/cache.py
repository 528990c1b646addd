"""JAX's persistent compilation cache, so a second process does not compile again.

Compiled programs depend only on shapes and options, never on data values, seeds or prior
scales (those are traced inputs), so a cache entry made by one run serves every later run of
the same model and shapes.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

__all__ = ["MAX_CACHE_BYTES", "cache_max_bytes", "default_cache_dir", "enable_compilation_cache"]

#: The cache's size limit. JAX writes an entry in place and locks the folder only when the
#: cache has a limit: without one, a process reading an entry that another (a sweep's worker,
#: a second command) is still writing finds it truncated, warns and compiles again. With one,
#: least recently used entries beyond it are evicted; a bayes_reg cache holds well under 1 GiB.
MAX_CACHE_BYTES = 8 * 2**30


def default_cache_dir() -> Path:
    """``$BAYES_REG_CACHE_DIR``, else ``$XDG_CACHE_HOME/bayes_reg/jax``, else ``~/.cache/...``."""
    if os.environ.get("BAYES_REG_CACHE_DIR"):
        return Path(os.environ["BAYES_REG_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bayes_reg" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path:
    """Turn on JAX's persistent compilation cache in ``path`` (default: a per-user directory).

    Every compiled program is cached, however quick its compilation, since the sampler and
    the training loops are the programs worth keeping; the folder is locked while an entry is
    written, and its size is limited to :data:`MAX_CACHE_BYTES` (or
    ``$JAX_COMPILATION_CACHE_MAX_SIZE``). Returns the directory used.

    Examples
    --------
    >>> import tempfile
    >>> import bayes_reg
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     print(bayes_reg.enable_compilation_cache(folder) == Path(folder))
    True
    """
    directory = Path(path) if path is not None else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", cache_max_bytes())
    return directory


def cache_max_bytes() -> int:
    """``$JAX_COMPILATION_CACHE_MAX_SIZE`` where set, else :data:`MAX_CACHE_BYTES`."""
    return int(os.environ.get("JAX_COMPILATION_CACHE_MAX_SIZE", MAX_CACHE_BYTES))
