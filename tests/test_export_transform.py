"""Export transforms (crop, binning, 8-bit scaling) against NumPy and scikit-image references."""

from __future__ import annotations

import numpy as np
import pytest

from napari_tvips._transform import Transform, parse_crop


def ref_bin(x: np.ndarray, b: int) -> np.ndarray:
    """Block mean rounded half up, trailing remainder dropped (NumPy reference)."""
    h, w = x.shape[-2] // b, x.shape[-1] // b
    blocks = x[..., : h * b, : w * b].astype(np.float64).reshape(*x.shape[:-2], h, b, w, b)
    return np.floor(blocks.mean(axis=(-3, -1)) + 0.5)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
@pytest.mark.parametrize("b", [1, 2, 3])
def test_binning_is_a_rounded_block_mean_in_range(dtype: type, b: int) -> None:
    rng = np.random.default_rng(b)
    top = np.iinfo(dtype).max
    x = rng.integers(0, top, size=(4, 3, 13, 11), dtype=dtype, endpoint=True)
    x[0, 0] = top  # a block of maxima must stay at the maximum, not wrap
    t = Transform.build(x.shape[-2:], x.dtype, binning=b)
    out = t.apply(x)
    assert out.dtype == dtype
    assert out.shape == (4, 3, 13 // b, 11 // b) == (*x.shape[:2], *t.frame_shape)
    np.testing.assert_array_equal(out, ref_bin(x, b).astype(dtype))
    assert out[0, 0].min() == top


def test_float_binning_is_a_mean() -> None:
    x = np.random.default_rng(0).normal(size=(5, 8, 8)).astype(np.float32)
    out = Transform.build((8, 8), np.float32, binning=4).apply(x)
    ref = x.reshape(5, 2, 4, 2, 4).mean(axis=(2, 4), dtype=np.float64).astype(np.float32)
    np.testing.assert_array_equal(out, ref)


def test_crop_box_and_square() -> None:
    x = np.arange(2 * 10 * 14, dtype=np.uint16).reshape(2, 10, 14)
    t = Transform.build((10, 14), np.uint16, crop=(1, 2, 9, 12))
    np.testing.assert_array_equal(t.apply(x), x[:, 1:9, 2:12])
    sq = Transform.build((10, 14), np.uint16, crop="square")
    assert sq.box == (0, 2, 10, 12)
    np.testing.assert_array_equal(sq.apply(x), x[:, :, 2:12])
    assert parse_crop("square", (15, 8)) == (3, 0, 11, 8)
    both = Transform.build((10, 14), np.uint16, crop="square", binning=3)
    np.testing.assert_array_equal(both.apply(x), ref_bin(x[:, :, 2:12], 3).astype(np.uint16))


def test_signal_axis_after_crop_and_bin() -> None:
    t = Transform.build((10, 14), np.uint16, crop=(2, 4, 10, 14), binning=2)
    ax = t.signal_axis({"scale": 0.5, "offset": -3.0, "size": 14, "units": "1/nm"}, 1)
    # centre of the first output pixel: original pixels 4 and 5 -> 4.5 * 0.5 - 3
    assert ax == {"scale": 1.0, "offset": -3.0 + 0.5 * 4.5, "size": 5, "units": "1/nm"}


def test_scaling_dtype_keeps_the_top_byte() -> None:
    x = np.array([[0, 255, 256, 65535], [511, 512, 1000, 40000]], dtype=np.uint16)
    out = Transform.build(x.shape, x.dtype, intensity_scaling="dtype").apply(x)
    np.testing.assert_array_equal(out, (x // 256).astype(np.uint8))
    y = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(
        Transform.build(y.shape, y.dtype, intensity_scaling="dtype").apply(y), y
    )


@pytest.mark.parametrize("rng_range", [(0, 255), (100, 3000), (37.5, 900.25)])
def test_scaling_pairs_match_skimage(rng_range: tuple[float, float]) -> None:
    from skimage.exposure import rescale_intensity

    x = np.random.default_rng(3).integers(0, 4096, size=(6, 9, 9), dtype=np.uint16)
    x[0, 0, :4] = [0, 4095, 100, 3000]
    mode = "crop" if rng_range == (0, 255) else rng_range
    out = Transform.build(x.shape[-2:], x.dtype, intensity_scaling=mode).apply(x)
    ref = rescale_intensity(x, in_range=rng_range, out_range=np.uint8)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, ref)
    xf = x.astype(np.float32) / 7
    outf = Transform.build(x.shape[-2:], xf.dtype, intensity_scaling=mode).apply(xf)
    np.testing.assert_array_equal(
        outf, rescale_intensity(xf.astype(np.float64), in_range=rng_range, out_range=np.uint8)
    )


def test_minmax_needs_a_range_then_matches_skimage() -> None:
    from skimage.exposure import rescale_intensity

    x = np.random.default_rng(4).integers(50, 2000, size=(3, 8, 8), dtype=np.uint16)
    t = Transform.build((8, 8), np.uint16, intensity_scaling="minmax")
    assert t.needs_range
    with pytest.raises(RuntimeError):
        t.apply(x)
    t = t.with_range(x.min(), x.max())
    ref = rescale_intensity(x, in_range=(int(x.min()), int(x.max())), out_range=np.uint8)
    np.testing.assert_array_equal(t.apply(x), ref)
    flat = Transform.build((2, 2), np.uint16, intensity_scaling="minmax").with_range(7, 7)
    np.testing.assert_array_equal(flat.apply(np.full((2, 2), 7, np.uint16)), 0)


@pytest.mark.parametrize(
    ("kwargs", "exc", "text"),
    [
        ({"crop": (0, 0, 11, 5)}, ValueError, "inside the 10 x 12 pattern"),
        ({"crop": (4, 0, 2, 5)}, ValueError, "y0 < y1"),
        ({"crop": "round"}, ValueError, "'round'"),
        ({"crop": (0, 0, 5)}, ValueError, "(y0, x0, y1, x1)"),
        ({"crop": (0, 0, 5.5, 5)}, ValueError, "integers"),
        ({"binning": 0}, ValueError, "binning 0"),
        ({"binning": 2.0}, ValueError, "binning 2.0"),
        ({"binning": 11}, ValueError, "pattern side 10"),
        ({"intensity_scaling": "gamma"}, ValueError, "'gamma'"),
        ({"intensity_scaling": (5, 5)}, ValueError, "low < high"),
    ],
)
def test_bad_arguments_name_the_value(kwargs: dict, exc: type, text: str) -> None:
    with pytest.raises(exc, match=None) as info:
        Transform.build((10, 12), np.uint16, **kwargs)
    assert text in str(info.value)


def test_dtype_scaling_of_floats_is_refused() -> None:
    with pytest.raises(TypeError, match="float32"):
        Transform.build((4, 4), np.float32, intensity_scaling="dtype")
