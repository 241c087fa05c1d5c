"""Drift estimation recovers known sub-pixel shifts of a synthetic drifting movie."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from napari_tvips import open_series
from napari_tvips._drift import estimate_drift, iter_drift
from napari_tvips._movie import MovieSettings, MovieView
from tvips_bytes import write_recording

logger = logging.getLogger(__name__)

#: Stated accuracy of the default estimate (upsample=20) on these frames, in pixels
#: (measured: 0.046 px at 200 counts, 0.07 px at 30 counts per pixel).
ACCURACY = 0.05


def drifting_movie(n=12, size=128, seed=3, dose=200.0):
    """A smooth random specimen drifting by known sub-pixel steps, with Poisson noise.

    Returns ``(frames, true)`` where ``true[i]`` is where frame i's content sits relative to
    frame 0 (so the registration shift is ``-true[i]``).
    """
    rng = np.random.default_rng(seed)
    big = ndimage.gaussian_filter(rng.random((2 * size, 2 * size)), 1.5)
    big = (big - big.min()) / np.ptp(big)
    t = np.arange(n)
    true = np.stack([0.83 * t + 0.3 * np.sin(t), -0.61 * t + 0.2 * np.cos(2 * t) - 0.2], axis=1)
    true -= true[0]
    spectrum = np.fft.fft2(big)
    frames = np.empty((n, size, size), np.uint16)
    for i in range(n):
        # shift the big periodic specimen, then crop: frames are not periodic
        shifted = np.fft.ifft2(ndimage.fourier_shift(spectrum, true[i])).real
        shifted = shifted[size // 2 : size // 2 + size, size // 2 : size // 2 + size]
        frames[i] = rng.poisson(dose * np.clip(shifted, 0, None) + 5)
    return frames, true


@pytest.fixture(scope="module")
def drift_file(tmp_path_factory):
    frames, true = drifting_movie()
    path = write_recording(tmp_path_factory.mktemp("drift") / "d", frames)[0]
    return open_series(path), frames, true


def test_subpixel_shifts_recovered(drift_file):
    series, _frames, true = drift_file
    shifts = estimate_drift(series)
    assert shifts.shape == (12, 2)
    error = np.abs(shifts + true)
    logger.info("drift error: max %.3f px, mean %.3f px", error.max(), error.mean())
    assert error.max() < ACCURACY


def test_low_dose_accuracy():
    frames, true = drifting_movie(dose=30.0, seed=5)
    with tempfile.TemporaryDirectory() as folder:
        series = open_series(write_recording(Path(folder) / "low", frames)[0])
        error = np.abs(estimate_drift(series) + true).max()
    logger.info("low-dose drift error: max %.3f px", error)
    assert error < 0.15


def test_previous_reference_chains_shifts(drift_file):
    series, _frames, true = drift_file
    shifts = estimate_drift(series, reference="previous")
    assert np.abs(shifts + true).max() < 4 * ACCURACY  # chained: errors add up


def test_whole_pixel_and_binned_estimates(drift_file):
    series, _frames, true = drift_file
    whole = estimate_drift(series, upsample=1)
    assert np.abs(whole + true).max() <= 0.5 + 1e-9
    binned = estimate_drift(series, binning=2)
    assert np.abs(binned + true).max() < 0.25


def test_summed_frames_share_a_shift_and_others_are_interpolated(drift_file):
    series, _frames, _true = drift_file
    shifts = estimate_drift(series, sum_frames=2, frames=slice(0, 11), bad=(5,))
    # groups (0,1) (2,3) (4,6) (7,8) (9,10); frame 5 is bad: interpolated between its neighbours
    np.testing.assert_array_equal(shifts[2], shifts[3])
    np.testing.assert_array_equal(shifts[4], shifts[6])
    assert shifts[11].tolist() == shifts[10].tolist()  # beyond the range: nearest group
    assert np.abs(shifts[0]).max() < 1.0  # sum of 0,1 against itself


def test_progress_and_corrected_view_aligns(drift_file):
    series, frames, _true = drift_file
    steps = []
    shifts = estimate_drift(series, progress=lambda d, t: steps.append((d, t)))
    assert steps[0] == (1, 12) and steps[-1] == (12, 12)
    view = MovieView(series, MovieSettings(shifts=shifts, subpixel=True))
    inner = (slice(20, -20), slice(20, -20))
    before = np.abs(frames[11][inner].astype(float) - frames[0][inner]).mean()
    after = np.abs(view[11][inner] - frames[0][inner].astype(float)).mean()
    assert after < 0.5 * before


def test_generator_can_stop_early(drift_file):
    series, *_ = drift_file
    gen = iter_drift(series)
    assert next(gen) == (1, 12)
    gen.close()


def test_bad_reference(drift_file):
    series, *_ = drift_file
    with pytest.raises(ValueError, match="reference frame 40"):
        estimate_drift(series, reference=40)


def test_estimate_binning_for_big_frames(drift_file):
    from napari_tvips._drift import auto_estimate_binning

    assert auto_estimate_binning((1024, 1024)) == 1
    assert auto_estimate_binning((2048, 2048)) == 2
    assert auto_estimate_binning((4096, 3000)) == 4
    assert auto_estimate_binning((128, 128), largest=64) == 2
    series, _frames, true = drift_file
    shifts = estimate_drift(series, estimate_binning=2)  # correlation on 64 x 64 frames
    assert np.abs(shifts + true).max() < 0.25
