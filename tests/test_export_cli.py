"""``napari-tvips convert``: options, output equal to the Python call, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_tvips as nt
from napari_tvips.__main__ import main
from tvips_bytes import write_recording


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 3000, size=(2 + 4 * 6, 10, 14), dtype=np.uint16)
    write_recording(tmp_path / "cli", frames, frames_per_part=[12, 14])
    return tmp_path / "cli_001.tvips"


def test_cli_blo_equals_python_call(scan: Path, tmp_path: Path, capsys) -> None:
    from rsciio.blockfile import file_reader as blo_reader

    out = tmp_path / "cli.blo"
    argv = ["convert", str(scan), str(out), "--scan-shape", "4,6", "--start", "2",
            "--winding", "y", "--hysteresis", "1", "--bin", "2", "--crop", "square",
            "--scale", "100,2000", "--scan-step", "2.5", "-q"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(out)
    ref = tmp_path / "py.blo"
    nt.convert(scan, ref, scan_shape=(4, 6), scan_start_frame=2, winding_scan_axis="y",
               hysteresis=1, binning=2, crop="square", intensity_scaling=(100, 2000),
               scan_step=2.5, show_progressbar=False)  # fmt: skip
    assert out.read_bytes() == ref.read_bytes()
    sig = blo_reader(str(out))[0]
    assert sig["data"].shape == (4, 6, 5, 5)
    assert sig["axes"][0]["scale"] == 2.5


def test_cli_zspy_auto_scan_and_box_crop(scan: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.zspy"
    assert main(["convert", str(scan), str(out), "--crop", "1,2,9,12", "-q"]) == 0
    import zarr

    data = zarr.open(str(out), mode="r")["Experiments/__unnamed__/data"]
    expect = nt.file_reader(scan)[0]["data"][:, 1:9, 2:12]
    np.testing.assert_array_equal(data[...], expect)


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--bin", "two"], "--bin 'two'"),
        (["--crop", "1,2,3"], "--crop '1,2,3' needs 4"),
        (["--winding", "z"], "--winding 'z'"),
        (["--scale", "gamma"], "'gamma'"),
        (["--scale", "1,b"], "LOW,HIGH"),
        (["--scan-shape", "9,9"], "out of bounds"),
        (["--scan-step", "fast"], "--scan-step"),
    ],
)
def test_cli_bad_input_is_one_line_and_status_1(
    scan: Path, tmp_path: Path, capsys, extra: list[str], text: str
) -> None:
    out = tmp_path / "bad.zspy"
    assert main(["convert", str(scan), str(out), "-q", *extra]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("napari-tvips convert: error: ")
    assert "\n" not in err
    assert text in err
    assert not out.exists()


def test_cli_unknown_extension_and_missing_file(scan: Path, tmp_path: Path, capsys) -> None:
    assert main(["convert", str(scan), str(tmp_path / "x.mrc")]) == 1
    err = capsys.readouterr().err
    assert ".blo" in err and ".zspy" in err and ".tvips" in err
    assert main(["convert", str(tmp_path / "none_000.tvips"), str(tmp_path / "x.zspy")]) == 1
    assert "none_000.tvips" in capsys.readouterr().err


def test_cli_subprocess_shows_progress(scan: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.zspy"
    run = subprocess.run(
        [sys.executable, "-m", "napari_tvips", "convert", str(scan), str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Exporting p.zspy" in run.stderr and "26/26" in run.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "napari_tvips", "convert", str(scan), str(tmp_path / "x.blo")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0
    assert "square" in bad.stderr
