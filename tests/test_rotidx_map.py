"""The rotidx index map, vectorised, against a plain loop that states the rule frame by frame."""

from __future__ import annotations

import numpy as np
import pytest

from napari_tvips._scan import rotidx_index_map


def reference(seg: np.ndarray, total: int) -> np.ndarray:
    """Position p takes the first frame with rotidx p + 1; repeats of a value fill the positions
    up to the next value in turn, the last of them any that remain (scan positions 0-based)."""
    positions = np.zeros(total, dtype=np.int64)
    i = 0
    while i < seg.size:
        j = i
        while j < seg.size and seg[j] == seg[i]:
            j += 1
        lo = max(int(seg[i]) - 1, 0)
        hi = int(seg[j]) - 1 if j < seg.size else lo + 1
        for k, p in enumerate(range(lo, hi)):
            positions[p] = i + min(k, j - i - 1)
        i = j
    return positions


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_map_equals_the_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    side = int(rng.integers(2, 12))
    total = side * side
    values = []
    for v in range(1, total + 1):
        if v not in (1, total) and rng.random() < 0.1:
            continue  # a scan position without a frame
        values += [v] * (1 + int(rng.random() < 0.15) * int(rng.integers(1, 4)))  # repeats
    pre = [0] * int(rng.integers(0, 4))
    post = [0] * int(rng.integers(0, 3))
    rot = np.array(pre + values + post, dtype=np.uint32)
    start = len(pre)
    seg = np.array(values[: len(values) - values[::-1].index(total) - values.count(total) + 1])
    expected = (reference(seg, total) + start).reshape(side, side)
    np.testing.assert_array_equal(rotidx_index_map(rot), expected)
