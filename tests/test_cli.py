"""The ``napari-tvips`` command (info, demo --screenshot) and the packaged manifest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from napari_tvips.__main__ import main
from tvips_bytes import write_recording

ROOT = Path(__file__).resolve().parents[1]


def test_info(recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(recording.parent / "rec_001.tvips")]) == 0
    out = capsys.readouterr().out
    assert "parts       3" in out
    for name, count in (("rec_000", 10), ("rec_001", 12), ("rec_002", 8)):
        assert f"{name}.tvips: {count} frames" in out
    assert "frames      30" in out
    assert "frame shape 5 x 7" in out
    assert "dtype       uint16" in out
    assert "version     2" in out
    assert "frameheaderbytes       60" in out
    assert "rotidx                 1 .. 30  (30 distinct; first 1)" in out
    assert "mode                   constant 2" in out
    assert "timestamp              1700000000 .. 1700000000" not in out  # integers, not 1.7e+09
    # rotidx 1..30 increasing throughout, not a square: no scan detected
    assert "scan        none (Scan was not square (30 scan points" in out


def test_info_detects_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = np.zeros((3 + 16, 4, 4), dtype=np.uint8)
    write_recording(tmp_path / "s", frames, headers={"rotidx": [0, 0, 0, *range(1, 17)]})
    assert main(["info", str(tmp_path / "s_000.tvips")]) == 0
    out = capsys.readouterr().out
    assert "dtype       uint8" in out
    assert "scan        4 x 4 from rotidx, first scan frame 3; 0 repeated frames skipped" in out


@pytest.mark.parametrize(
    ("rotidx", "words"),
    [
        # the camera ran while the scan generator waited: positions 3 and 9 repeat
        ([0, 0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 9, 9], "3 repeated frames skipped, 0 missing"),
        # position 4 has no frame; rotidx drops back after the scan
        ([0, 1, 2, 3, 5, 6, 7, 8, 9, 0, 1], "0 repeated frames skipped, 1 missing; 2 frames after"),
    ],
)
def test_info_counts_repeated_and_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rotidx: list[int], words: str
) -> None:
    frames = np.zeros((len(rotidx), 4, 4), dtype=np.uint8)
    write_recording(tmp_path / "s", frames, headers={"rotidx": rotidx})
    assert main(["info", str(tmp_path / "s_000.tvips")]) == 0
    out = capsys.readouterr().out
    assert "scan        3 x 3 from rotidx" in out and words in out


def test_info_bad_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "bad_000.tvips"
    bad.write_bytes(b"\x07" * 300)
    assert main(["info", str(bad)]) == 1
    assert "bad_000.tvips" in caplog.text


def test_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "napari_tvips", "--help"], capture_output=True, text=True, check=True
    )
    assert "info" in done.stdout and "demo" in done.stdout


@pytest.mark.napari
def test_demo_screenshot(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X display (run the tests under xvfb-run)")
    png = tmp_path / "demo.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run(
        [sys.executable, "-m", "napari_tvips", "demo", "--screenshot", str(png),
         "--folder", str(tmp_path / "rec")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "rec" / "demo_000.tvips").exists()
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[0] > 300 and image.shape[1] > 500
    assert image.std() > 5  # not blank


def _build_wheel(out: Path) -> None:
    """Build the project's wheel with whatever builder exists (pip, hatchling, uv)."""
    backend = "import sys, hatchling.build as b; sys.exit(not b.build_wheel(sys.argv[1]))"
    attempts = [
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        [sys.executable, "-c", backend, str(out)],
    ]
    uv = shutil.which("uv")
    if uv:
        attempts.append([uv, "build", "-q", "--wheel", "-o", str(out), str(ROOT)])
    errors = []
    for cmd in attempts:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
        if done.returncode == 0 and list(out.glob("*.whl")):
            return
        errors.append(f"{cmd[:3]}: {done.stderr[-500:]}")
    pytest.skip("no wheel builder available: " + " | ".join(errors))


def test_wheel_contains_manifest(tmp_path: Path) -> None:
    _build_wheel(tmp_path)
    [wheel] = tmp_path.glob("napari_tvips-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "napari_tvips/napari.yaml" in names
    assert "napari_tvips/_napari/_sample_data.py" in names
    assert "napari_tvips/_demo.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "napari-tvips = napari_tvips.__main__:main" in text
    assert "napari_tvips:napari.yaml" in text


def test_info_truncated_middle_part(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = np.zeros((10, 4, 4), dtype=np.uint8)
    paths = write_recording(tmp_path / "t", frames, frames_per_part=[5, 5])
    os.truncate(paths[0], paths[0].stat().st_size - 7)
    with pytest.warns(UserWarning, match="shifted by one"):
        assert main(["info", str(paths[1])]) == 0
    out = capsys.readouterr().out
    assert "t_000.tvips: 4 frames, 69 bytes after the last frame (NOT the last part" in out
