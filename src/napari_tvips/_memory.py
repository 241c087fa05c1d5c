"""Memory checks before eager reads: refuse with a clear ``MemoryError`` instead of swapping.

An eager read (``file_reader(..., lazy=False)``, ``np.asarray`` of a layer) allocates its output
at once and then fills it; when the output is larger than the memory the machine has available,
the kernel's out-of-memory killer may end the user's Python or napari process mid-read. The
check here runs before the allocation and says what to do instead. It reads ``psutil`` when
installed, else ``/proc/meminfo``; where neither answers, nothing is checked.
"""

from __future__ import annotations

import logging

__all__ = ["available_memory", "check_memory", "human_bytes"]

log = logging.getLogger(__name__)

#: Requests below this size are never checked (reading /proc/meminfo costs ~50 us).
_CHECK_FROM = 64 << 20


def available_memory() -> int | None:
    """Bytes of memory available to new allocations without swapping, or ``None`` if unknown."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # not installed, or no answer on this system
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def human_bytes(n: float) -> str:
    """``1.5 GiB``-style text."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def check_memory(nbytes: int, path: str, what: str = "the whole recording") -> None:
    """Raise ``MemoryError`` if reading ``nbytes`` into memory cannot fit.

    Parameters
    ----------
    nbytes : int
        Bytes the read will allocate.
    path : str
        The file, for the message.
    what : str
        What is being read, for the message.
    """
    if nbytes < _CHECK_FROM:
        return
    available = available_memory()
    if available is None or nbytes <= available:
        return
    raise MemoryError(
        f"{path}: reading {what} into memory needs {human_bytes(nbytes)}, but only "
        f"{human_bytes(available)} is available; open it lazily instead "
        "(file_reader(..., lazy=True), or the napari layer, which reads frames on demand)"
    )
