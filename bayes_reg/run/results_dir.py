"""The output folder of a run: written atomically, and never at the cost of a user's files.

A run's files are assembled in a hidden folder beside the output folder and moved into
place only when complete, so an interrupted run leaves the previous results as they were.
A folder counts as a previous result only if it holds the manifest this module writes last
(:data:`MANIFEST`, listing every file of the result) and nothing else; replacing it removes
only the files that manifest lists. Any other folder is refused before anything is
computed: a folder with files bayes-reg did not write, the current folder or one above it,
a folder that holds the card or its data.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "MANIFEST",
    "OutputDirError",
    "check_location",
    "check_out_dir",
    "is_result",
    "result_dir",
]

#: Written last into every result folder; lists the files of the result.
MANIFEST = "bayes-reg-manifest.json"
_WRITER = "bayes-reg"
_FIX = "name a new or empty folder"


class OutputDirError(ValueError):
    """An output folder that bayes-reg must not write into; the message says what to do."""


def check_out_dir(out: str | Path, *, protected: Iterable[str | Path] = ()) -> Path:
    """The absolute output folder, if a run may write it; else :class:`OutputDirError`.

    Parameters
    ----------
    out : path
        The folder the results go to: new, empty, or a previous result and nothing else.
    protected : paths
        Files and folders the run reads (the card, its data): ``out`` may not hold them.
    """
    out = check_location(out, protected=protected)

    def refuse(problem: str) -> OutputDirError:
        return OutputDirError(f"--out {out}: {problem}; {_FIX}")

    if not out.exists():
        return out
    if not out.is_dir():
        raise refuse("is a file, not a folder")
    _previous_result(out, refuse)
    return out


def check_location(out: str | Path, *, protected: Iterable[str | Path] = ()) -> Path:
    """The absolute ``out``, unless it is the current folder, one above it, or holds a
    ``protected`` path (what the run reads): those are never written, whatever they hold."""
    out = Path(out).expanduser().resolve()

    def refuse(problem: str) -> OutputDirError:
        return OutputDirError(f"--out {out}: {problem}; {_FIX}")

    here = Path.cwd().resolve()
    if out == here or out in here.parents:
        raise refuse("is the current folder or a folder above it, which results never replace")
    for path in protected:
        path = Path(path).resolve()
        if out == path or out in path.parents:
            raise refuse(f"holds {path}, which this run reads")
    return out


def _previous_result(folder: Path, refuse) -> list[str]:
    """The files of the previous result in ``folder`` (none if it is empty); refuse others."""
    names = {p.name for p in folder.iterdir()}
    if not names:
        return []
    if MANIFEST not in names:
        shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        raise refuse(
            f"holds files bayes-reg did not write ({shown}); it replaces only a folder that "
            f"holds a previous result (with its {MANIFEST}) and nothing else"
        )
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        files = [str(f) for f in manifest["files"]]
        ours = manifest["written_by"] == _WRITER
    except (OSError, ValueError, KeyError, TypeError):
        ours = False
    if not ours:
        raise refuse(f"its {MANIFEST} is not one that bayes-reg wrote")
    extra = sorted(names - set(files) - {MANIFEST})
    if extra:
        shown = ", ".join(extra[:3]) + (", ..." if len(extra) > 3 else "")
        raise refuse(
            f"holds a previous result and files bayes-reg did not write ({shown}), "
            "which replacing it would delete"
        )
    if not all((folder / f).is_file() and not (folder / f).is_symlink() for f in files):
        raise refuse(f"what its {MANIFEST} lists is not all plain files")
    return files


@contextmanager
def result_dir(out: str | Path, *, protected: Iterable[str | Path] = ()) -> Iterator[Path]:
    """A fresh folder to write a result into; moved into place as ``out`` on success.

    ``out`` is checked (:func:`check_out_dir`) on entry and again just before the move, in
    case files appeared while the run computed. On an exception the fresh folder is removed
    and ``out`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = pathlib.Path(folder) / "results"
    ...     with result_dir(out) as tmp:
    ...         _ = (tmp / "summary.json").write_text("{}")
    ...     sorted(p.name for p in out.iterdir())
    ['bayes-reg-manifest.json', 'summary.json']
    """
    protected = list(protected)
    out = check_out_dir(out, protected=protected)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the results are ordinary files
    try:
        yield tmp
        files = sorted(p.name for p in tmp.iterdir())
        manifest = {"written_by": _WRITER, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        check_out_dir(out, protected=protected)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a folder this run made, holding its files
        raise


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Put ``tmp`` at ``out``; a previous result there is moved aside, then removed file by
    file as its manifest lists them."""
    if not out.exists():
        os.replace(tmp, out)  # fails, rather than replace, if a non-empty folder appeared
        return
    old_files = _previous_result(out, lambda problem: OutputDirError(f"--out {out}: {problem}"))
    if not old_files:
        out.rmdir()  # empty: rmdir refuses a folder that is not
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, old)
    os.replace(tmp, out)
    for name in [*old_files, MANIFEST]:
        (old / name).unlink(missing_ok=True)
    try:
        old.rmdir()
    except OSError:  # something appeared in it meanwhile: keep it, and say where
        print(f"bayes-reg: the previous result's folder kept at {old}", file=sys.stderr)


def is_result(folder: str | Path) -> bool:
    """Whether ``folder`` holds a complete result: the manifest (written last) and its files."""
    folder = Path(folder)
    try:
        _previous_result(folder, OutputDirError)
    except (OutputDirError, OSError):
        return False
    return (folder / MANIFEST).is_file()
