"""numba versions of the kernels in :mod:`napari_tvips._kernels` (imported only when numba is).

Compiled on first call and cached on disk (``cache=True``); every kernel releases the GIL so
blocks reduce in parallel threads. Results are exact integers, equal to the NumPy engine's.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["label_sums", "pattern_stats"]

#: Frames summed per pass over the label image: each label lookup feeds this many independent
#: accumulators, which hides the latency of the scattered additions.
GROUP = 8


@numba.njit(nogil=True, cache=True)
def label_sums(frames, labels, out):  # pragma: no cover - compiled
    """``out[f, labels[p]] += frames[f, p]`` for ``(k, npix)`` frames into zeroed ``(k, nlab)``."""
    k, npix = frames.shape
    nlab = out.shape[1]
    acc = np.zeros((GROUP, nlab), out.dtype)
    for f0 in range(0, k, GROUP):
        g = min(GROUP, k - f0)
        acc[:] = 0
        if g == GROUP:
            for p in range(npix):
                b = labels[p]
                for j in range(GROUP):
                    acc[j, b] += frames[f0 + j, p]
        else:
            for j in range(g):
                for p in range(npix):
                    acc[j, labels[p]] += frames[f0 + j, p]
        for j in range(g):
            for i in range(nlab):
                out[f0 + j, i] = acc[j, i]


@numba.njit(nogil=True, cache=True)
def pattern_stats(frames, moments, sum_pattern, max_pattern):  # pragma: no cover - compiled
    """Moments per frame into ``moments``; add to ``sum_pattern``; max into ``max_pattern``."""
    k, ny, nx = frames.shape
    part = np.zeros((ny, nx), np.uint32)  # a block holds < 65537 frames of <= 16 bits
    cols = np.zeros(nx, np.uint64)
    for f in range(k):
        cols[:] = 0
        my = 0
        for y in range(ny):
            row = frames[f, y]
            prow = part[y]
            mrow = max_pattern[y]
            rs = np.uint64(0)
            for x in range(nx):
                v = row[x]
                rs += v
                cols[x] += v
                prow[x] += v
                mrow[x] = max(mrow[x], v)
            my += y * np.int64(rs)
        mx = 0
        for x in range(nx):
            mx += x * np.int64(cols[x])
        moments[f, 0] = my
        moments[f, 1] = mx
    for y in range(ny):
        for x in range(nx):
            sum_pattern[y, x] += part[y, x]
