"""Export benchmark: ``napari_tvips.convert`` to .zspy / .blo against a raw read + write and rsciio.

Usage: ``python benchmarks/bench_export.py [--small] [--keep]``.

Builds the read benchmark's recording (``bench_read.generate``: 16384 frames of 256 x 256
uint16, 2 GiB, a 128 x 128 scan, one part) under ``bench-data/`` (or ``$TVIPS_BENCH_DIR``), then
measures in fresh subprocesses with a warm page cache (the files are ``cat`` first):

- the raw limit: a hand-written loop that reads the recording's bytes in 16 MiB blocks
  (``os.preadv`` into a reused buffer) and writes them to a new file (``os.write``);
- ``convert`` to ``.zspy`` (4 MiB chunks, and 16 MiB for comparison), ``.blo`` (``"dtype"``
  scaling) and ``.tvips`` (binning 2), as input bytes per second and as a ratio to the raw limit;
- for ``.zspy``, the median time to read one pattern (one chunk decoded), the cost of the
  chunk size to a viewer;
- peak memory over the interpreter (VmHWM minus the RSS after imports), for the 2 GiB set and for
  a set a quarter of its size (memory must not grow with the data);
- the same conversions through RosettaSciIO as users do it today (``hs.load(..., lazy=True)``
  then ``s.save``).

Prints figures and ratios; asserts nothing. ``--small`` uses 1024 frames of 128 x 128.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))

from bench_read import _peak, _rss, _warm, generate, run_child, session  # noqa: E402

BLOCK = 16 << 20


def _raw_copy(src: str, dst: str) -> dict[str, Any]:
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    base = _rss()
    t0 = time.perf_counter()
    fin = os.open(src, os.O_RDONLY)
    fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        offset = 0
        while True:
            got = os.preadv(fin, [view], offset)
            if not got:
                break
            done = 0
            while done < got:
                done += os.write(fout, view[done:got])
            offset += got
    finally:
        os.close(fin)
        os.close(fout)
    return {"time": time.perf_counter() - t0, "mem": _peak() - base}


def _size(path: str) -> int:
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    if p.exists():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.parent.glob(p.stem + "_*.tvips"))


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement in this (fresh) process."""
    op, src, dst, scan = spec["op"], spec["src"], spec["dst"], spec["scan"]
    if op == "raw":
        return _raw_copy(src, dst)
    if op.startswith("ours"):
        import dask.array  # noqa: F401  (imports count in the baseline, as for rsciio)
        import pint  # noqa: F401
        import tqdm  # noqa: F401
        import zarr

        import napari_tvips as nt
        import napari_tvips._blo
        import napari_tvips._zspy

        kwargs = dict(spec.get("kwargs") or {})
        base = _rss()
        t0 = time.perf_counter()
        nt.convert(src, dst, scan_shape=(scan, scan), show_progressbar=False, **kwargs)
        res = {"time": time.perf_counter() - t0, "mem": _peak() - base, "size": _size(dst)}
        if dst.endswith(".zspy"):  # what the chunk size costs a viewer: one pattern's read
            import numpy as np

            data = zarr.open(dst, mode="r")["Experiments/__unnamed__/data"]
            rng = np.random.default_rng(0)
            lat = []
            for y, x in rng.integers(0, scan, size=(20, 2)):
                t1 = time.perf_counter()
                data[int(y), int(x)]
                lat.append(time.perf_counter() - t1)
            res["pattern_ms"] = float(np.median(lat)) * 1e3
        return res
    if op.startswith("rsciio"):
        import hyperspy.api as hs

        base = _rss()
        t0 = time.perf_counter()
        s = hs.load(src, reader="tvips", lazy=True, scan_shape=(scan, scan))
        kwargs = dict(spec.get("kwargs") or {})
        s.save(dst, overwrite=True, show_progressbar=False, **kwargs)
        return {"time": time.perf_counter() - t0, "mem": _peak() - base, "size": _size(dst)}
    raise ValueError(op)


def run(spec: dict[str, Any], warm: list[Path]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter after warming the page cache."""
    _warm(warm)
    result = run_child(HERE, spec)
    out_path = Path(spec["dst"])
    if out_path.is_dir():
        shutil.rmtree(out_path, ignore_errors=True)
    for f in out_path.parent.glob(out_path.stem + "*"):
        if f.is_dir():
            shutil.rmtree(f, ignore_errors=True)
        else:
            f.unlink()
    return result


def main() -> None:
    def options(ap: argparse.ArgumentParser) -> None:
        ap.add_argument("--no-rsciio", action="store_true", help="skip the RosettaSciIO runs")

    with session(__doc__, measure, "bench-export-", options) as args:
        if args is None:
            return
        n, side, folder = args.n, args.side, args.folder
        (folder / "big").mkdir()
        (folder / "quarter").mkdir()
        [src], split = generate(folder / "big", n, side)
        for p in split:
            p.unlink()
        [quarter], split = generate(folder / "quarter", n // 4, side)
        for p in split:
            p.unlink()
        data_bytes = n * side * side * 2
        print(f"recording: {n} frames of {side}x{side} uint16 ({data_bytes / 2**30:.2f} GiB), "
              f"{round(n**0.5)}^2 scan; 2-core VM shared with other jobs")  # fmt: skip
        out = folder / "out"
        out.mkdir()
        scan = round(n**0.5)
        base = {"src": str(src), "scan": scan}
        raw = run({**base, "op": "raw", "dst": str(out / "raw.bin")}, [src])
        t_raw = raw["time"]
        gib = data_bytes / 2**30
        print(f"  raw read + write (16 MiB blocks)      {t_raw:6.2f} s  {gib / t_raw:5.2f} GiB/s  "
              f"peak +{raw['mem'] / 2**20:.0f} MiB")  # fmt: skip
        cases = [
            ("ours .zspy (4 MiB chunks)", "ours", "x.zspy", {}),
            ("ours .zspy (16 MiB chunks)", "ours", "x16.zspy", {"chunk_bytes": 16 << 20}),
            ("ours .blo (dtype scaling)", "ours", "x.blo", {"intensity_scaling": "dtype"}),
            ("ours .tvips (binning 2)", "ours", "x.tvips", {"binning": 2}),
        ]
        if not args.no_rsciio:
            cases += [
                ("rsciio load + save .zspy", "rsciio", "r.zspy", {}),
                ("rsciio load + save .blo (dtype)", "rsciio", "r.blo",
                 {"intensity_scaling": "dtype"}),
            ]  # fmt: skip
        for label, op, name, kwargs in cases:
            res = run({**base, "op": op, "dst": str(out / name), "kwargs": kwargs}, [src])
            if "error" in res:
                print(f"  {label:<38} !! {res['error']}")
                continue
            t = res["time"]
            pattern = f"  one pattern {res['pattern_ms']:.1f} ms" if "pattern_ms" in res else ""
            print(f"  {label:<38} {t:6.2f} s  {gib / t:5.2f} GiB/s  x raw {t_raw / t:4.2f}  "
                  f"peak +{res['mem'] / 2**20:.0f} MiB  "
                  f"output {res['size'] / 2**20:.0f} MiB{pattern}")  # fmt: skip
        for label, name, kwargs in (
            (".zspy", "q.zspy", {}),
            (".blo", "q.blo", {"intensity_scaling": "dtype"}),
        ):
            res = run({"src": str(quarter), "scan": scan // 2, "op": "ours",
                       "dst": str(out / name), "kwargs": kwargs}, [quarter])  # fmt: skip
            if "error" not in res:
                print(f"  ours {label} on a quarter of the data: peak +{res['mem'] / 2**20:.0f} MiB"
                      " (flat in size)")  # fmt: skip


if __name__ == "__main__":
    main()
