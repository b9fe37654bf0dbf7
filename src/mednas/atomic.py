"""Write outputs so that a crash never leaves a half-written file behind.

Every writer writes to a hidden temporary sibling and renames it into place only when
all outputs of the step are complete; on any error the temporaries are removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path


def _temp_sibling(path: Path) -> Path:
    # Keep the original name as the tail so that suffix-sensitive writers (np.savez
    # appends ".npz" otherwise) produce exactly the temporary file we expect.
    return path.with_name(f".tmp-{uuid.uuid4().hex[:12]}-{path.name}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str | os.PathLike]) -> Iterator[list[Path]]:
    """Yield temporary paths for ``paths``; rename them all into place on success.

    The temporaries live in the same folders as the targets (so the rename is atomic
    on one file system). If the block raises, no target is touched and every
    temporary is deleted. Targets may be files or directories.
    """
    targets = [Path(p) for p in paths]
    temps = [_temp_sibling(t) for t in targets]
    for t in targets:
        t.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield temps
        missing = [str(t) for t, tmp in zip(targets, temps) if not tmp.exists()]
        if missing:
            raise RuntimeError(f"step finished without writing: {', '.join(missing)}")
    except BaseException:
        for tmp in temps:
            _remove(tmp)
        raise
    for target, tmp in zip(targets, temps):
        if target.exists() and target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(tmp, target)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Single-target form of :func:`atomic_outputs`."""
    with atomic_outputs([path]) as (tmp,):
        yield tmp


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text)
