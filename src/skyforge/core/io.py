"""Atomic file writes: every artifact is written to a temporary name and renamed into place.

Snakemake removes the outputs of a failed job, but a process killed by SLURM (time limit, OOM)
or a reader running concurrently can still see a half-written file. Writing to a temp path in the
same directory and ``os.replace``-ing it makes each file appear whole or not at all. The standard
library has the pieces (tempfile, os.replace) but no context manager for a path, hence this one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600; give the artifact the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def workdir_relative(path: str | Path, workdir: str | Path | None = None) -> str:
    """``path`` relative to ``workdir`` (default: the current directory) when it lies inside it,
    else absolute. Artifacts record paths this way so that a run directory can be moved or
    opened elsewhere (``snakemake --directory``) and still resolve them; a path outside it (a
    checkpoint directory on a parallel file system) stays absolute."""
    root = Path(workdir or os.getcwd()).resolve()
    absolute = (root / path).resolve() if not Path(path).is_absolute() else Path(path).resolve()
    try:
        return str(absolute.relative_to(root))
    except ValueError:
        return str(absolute)
