"""Atomic installation of written files and directories: :func:`installing`.

Every writer of napari-tvips (``.tvips`` parts, ``.zspy`` zarr directory stores, ``.blo`` files)
writes to hidden temporaries beside its targets and lets this module put them in place:

1. the caller writes each temporary (a file or a directory) inside the ``with`` block;
2. on normal exit, every existing target is kept aside (a hard link for a file replaced by a
   file, so the old name stays valid until it is replaced; a rename otherwise), each temporary
   is renamed over its target with :func:`os.replace`, the kept-aside copies are dropped and
   only then the ``stale`` paths (e.g. higher-numbered parts of an older recording) are removed;
3. on any exception inside the block or while installing (``KeyboardInterrupt`` included), the
   temporaries are removed and every previous target is put back exactly.

Nothing partial is ever left under a target name. This module writes no data itself and knows
no file format.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import stat
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

__all__ = ["installing", "temp_name"]

logger = logging.getLogger(__name__)


def _normalized(path: str | os.PathLike[str]) -> str:
    """``path`` as a string without trailing separators (``"x.zspy/"`` names ``"x.zspy"``)."""
    text = os.fspath(path)
    stripped = text.rstrip("/" + (os.altsep or ""))
    if not stripped or not os.path.basename(stripped):
        raise ValueError(f"cannot install over {text!r}: it names no file or directory")
    return stripped


def temp_name(path: str, kind: str) -> str:
    """A hidden, unused name beside ``path``: ``.<name>.<kind>-<8 hex digits>``."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{kind}-{secrets.token_hex(4)}")


def _is_dir(path: str) -> bool:
    """True for a real directory (a symbolic link to one counts as a file)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove(path: str) -> None:
    """Remove a file, symbolic link or directory tree; failures are logged, never raised."""
    try:
        if _is_dir(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("could not remove %s: %s", path, exc)


def _keep_aside(path: str, replaced_by_file: bool) -> tuple[str, bool]:
    """Keep the current ``path`` under a hidden name; return it and whether ``path`` moved."""
    backup = temp_name(path, "old")
    if replaced_by_file and not _is_dir(path):
        try:
            os.link(path, backup, follow_symlinks=False)
            return backup, False
        except (OSError, NotImplementedError):  # no hard links here: move the old one aside
            pass
    os.rename(path, backup)
    return backup, True


def _install(temps: list[str], targets: list[str]) -> None:
    """Rename ``temps`` over ``targets``; on failure put every previous target back."""
    backups: dict[str, str] = {}
    moved: set[str] = set()
    done: set[str] = set()
    try:
        for temp, target in zip(temps, targets, strict=True):
            if not os.path.lexists(temp):
                raise FileNotFoundError(
                    2, f"nothing was written for {target} (its temporary is missing)", temp
                )
        for temp, target in zip(temps, targets, strict=True):
            if os.path.lexists(target):
                backups[target], was_moved = _keep_aside(target, not _is_dir(temp))
                if was_moved:
                    moved.add(target)
        for temp, target in zip(temps, targets, strict=True):
            os.replace(temp, target)  # a directory target was moved aside above
            done.add(target)
    except BaseException:
        for target in reversed(targets):
            try:
                backup = backups.get(target)
                if target in done and (backup is None or _is_dir(target) or _is_dir(backup)):
                    _remove(target)  # a file put back by rename below replaces it atomically
                if backup is not None and (target in done or target in moved):
                    os.rename(backup, target)
                    del backups[target]
            except OSError:
                logger.exception(
                    "could not restore %s; its previous version is kept as %s",
                    target,
                    backups.pop(target, None),
                )
        for backup in backups.values():  # hard links of targets that were never replaced
            _remove(backup)
        raise
    for backup in backups.values():
        _remove(backup)


@contextmanager
def installing(
    targets: Sequence[str | os.PathLike[str]], *, stale: Sequence[str | os.PathLike[str]] = ()
) -> Iterator[list[str]]:
    """Yield one hidden temporary path beside each target; install them all on normal exit.

    Parameters
    ----------
    targets : sequence of str or os.PathLike
        Final names of the files or directories to write (e.g. the parts of a recording, or a
        ``.zspy`` zarr directory store). Existing targets are replaced.
    stale : sequence of str or os.PathLike
        Paths removed after a successful installation (a failure to remove one is a warning).

    Yields
    ------
    list of str
        ``.<name>.tmp-<hex>`` beside each target, not yet existing: the caller creates each
        one (a file, or a directory) inside the ``with`` block.

    Raises
    ------
    FileNotFoundError
        On normal exit, when a temporary was not created (nothing is installed).
    ValueError
        For duplicate targets or a name that is only a folder separator.

    Notes
    -----
    On normal exit every existing target is kept aside (hard link when a file replaces a file,
    rename otherwise), the temporaries are renamed over the targets with :func:`os.replace`, the
    kept-aside copies are dropped and the ``stale`` paths removed. On any exception inside the
    block or while installing (``KeyboardInterrupt`` included) the temporaries are removed and
    every previous target is restored exactly; nothing partial is left under a target name.
    A directory target is briefly absent between being moved aside and replaced.
    """
    names = [_normalized(t) for t in targets]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate targets in {names}")
    temps = [temp_name(name, "tmp") for name in names]
    try:
        yield list(temps)
        _install(temps, names)
    except BaseException:
        for temp in temps:
            _remove(temp)
        raise
    for path in (_normalized(s) for s in stale):
        if path in names or not os.path.lexists(path):
            continue
        try:
            if _is_dir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            logger.info("removed %s, replaced by %s", path, names[0] if names else "nothing")
        except OSError as exc:
            warnings.warn(f"could not remove old {path}: {exc}", UserWarning, stacklevel=3)
