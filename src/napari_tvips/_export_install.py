"""Atomic install of export outputs (files or zarr directories).

TODO(_install): replaced by the shared ``napari_tvips._install.installing`` once branch
``writer`` lands; same signature, so exporters do not change.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

__all__ = ["installing"]


def _hidden(path: str, kind: str) -> str:
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{kind}-{secrets.token_hex(4)}")


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


@contextmanager
def installing(
    targets: Sequence[str | os.PathLike[str]], *, stale: Sequence[str] = ()
) -> Iterator[list[str]]:
    """Yield a hidden temporary path beside each target; install them all on normal exit.

    Old targets are moved aside first and restored if anything fails; temporaries never
    survive an exception.
    """
    paths = [os.path.abspath(os.fspath(t)) for t in targets]
    temps = [_hidden(p, "tmp") for p in paths]
    try:
        yield temps
        aside: dict[str, str] = {}
        done: list[str] = []
        try:
            for path in paths:
                if os.path.lexists(path):
                    aside[path] = _hidden(path, "old")
                    os.rename(path, aside[path])
            for temp, path in zip(temps, paths, strict=True):
                os.replace(temp, path)
                done.append(path)
        except BaseException:
            for path in reversed(done):
                _remove(path)
            for path, old in aside.items():
                os.rename(old, path)
            raise
        for old in aside.values():
            _remove(old)
        for path in stale:
            _remove(path)
    finally:
        for temp in temps:
            if os.path.lexists(temp):
                _remove(temp)
