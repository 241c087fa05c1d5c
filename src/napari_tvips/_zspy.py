"""The ``.zspy`` exporter: HyperSpy's zarr layout (zarr format 2), streamed chunk by chunk.

Layout (what HyperSpy 2.5 / RosettaSciIO 0.15 write and read): root attributes ``file_format =
"ZSpy"``, ``file_format_version = "3.3"``; group ``Experiments/__unnamed__`` with ``data``,
``axis-0 .. axis-N`` (uniform axes: name, units, scale, offset, size, navigate), ``metadata``
(``General``, ``Signal.signal_type = "electron_diffraction"``, beam energy and camera length)
and ``original_metadata`` (the TVIPS main header, every frame header of the recording and
``frame_index``, the frame shown at each scan position). The virtual bright-field image is stored
as HyperSpy's navigator (``metadata/_HyperSpy/_sig_navigator``), so ``s.plot()`` reads no data.

Chunks hold whole patterns, about :data:`CHUNK_BYTES` (4 MiB) uncompressed, as square as powers
of two allow in the scan: showing one pattern in HyperSpy decodes one 4 MiB chunk (a few ms),
scan regions touch few chunks, and the per-chunk cost of writing (a file, a compressor call) stays
small against 4 MiB (see ``benchmarks/bench_export.py``). Compression is Blosc LZ4 with bit
shuffle: 2-3 GB/s per core here and a better ratio on diffraction patterns than HyperSpy's default
(Blosc zstd level 1), which compresses at about 0.5 GB/s and would halve the export speed.

Each chunk is one task (read, transform, compress, write), independent of the others: locally
they run on a small thread pool; with an active ``dask.distributed`` client on its workers
(zarr allows parallel writes of distinct chunks), giving the same store. The store is written
under a temporary name and installed atomically.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._cluster import active_client
from ._install import installing
from ._navigator import VirtualBrightField
from ._source import ExportSource, Key, TileReader, nav_chunks, run_tiles, tile_size, tiles
from ._transform import Transform

__all__ = ["CHUNK_BYTES", "write_zspy"]

logger = logging.getLogger(__name__)

#: Uncompressed bytes per chunk (whole patterns).
CHUNK_BYTES = 4 << 20
_SIGNAL = "Experiments/__unnamed__"
_DATA = f"{_SIGNAL}/data"


def _store(path: str) -> Any:
    """HyperSpy's store: a nested directory store (deprecated for zarr 3, which we do not use)."""
    zarr = _zarr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return zarr.storage.NestedDirectoryStore(path)


def _zarr() -> Any:
    try:
        import zarr
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "writing .zspy needs zarr 2: pip install 'napari-tvips[export]'"
        ) from None
    if int(zarr.__version__.split(".")[0]) >= 3:  # pragma: no cover
        raise ImportError(
            "writing .zspy needs zarr 2 (RosettaSciIO's zspy reader does), found "
            f"{zarr.__version__}"
        )
    return zarr


def _compressor() -> Any:
    from numcodecs import Blosc

    return Blosc(cname="lz4", clevel=5, shuffle=Blosc.BITSHUFFLE)


def _attr(value: Any) -> Any:
    """A JSON attribute value as HyperSpy writes it (``None`` is ``"_None_"``)."""
    if value is None:
        return "_None_"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).rstrip(b"\0").decode("latin-1")
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # dates, units and other objects JSON cannot hold: their text


def _write_tree(group: Any, tree: Mapping[str, Any]) -> None:
    """Nested dicts as groups; arrays (and array-likes) as datasets; the rest as attributes."""
    for key, value in tree.items():
        if isinstance(value, Mapping):
            _write_tree(group.require_group(key), value)
        elif isinstance(value, np.ndarray) and value.dtype.kind not in "SUO":
            group.array(key, value, chunks=value.shape or None, compressor=_compressor())
        elif isinstance(value, np.ndarray):
            group.attrs[key] = [_attr(v) for v in value.tolist()]
        elif isinstance(value, (list, tuple)):
            group.attrs[key] = [_attr(v) for v in value]
        else:
            group.attrs[key] = _attr(value)


def _axis_attrs(axis: Mapping[str, Any], navigate: bool) -> dict[str, Any]:
    return {
        "_type": "UniformDataAxis",
        "name": _attr(axis.get("name") or None),
        "units": _attr(axis.get("units") or None),
        "scale": float(axis.get("scale", 1.0) or 1.0),
        "offset": float(axis.get("offset", 0.0) or 0.0),
        "size": int(axis["size"]),
        "navigate": bool(navigate),
        "is_binned": False,
    }


def _metadata(source: ExportSource) -> dict[str, Any]:
    """HyperSpy metadata: the source's, with the signal type, title and diffraction keys."""
    meta = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in source.metadata.items()}
    general = dict(meta.get("General") or {})
    general.setdefault("title", source.name)
    if not general["title"]:
        general["title"] = source.name
    meta["General"] = general
    meta["Signal"] = {**dict(meta.get("Signal") or {}), "signal_type": "electron_diffraction"}
    header = source.original_metadata.get("tvips_header")
    diffraction = str(source.axes[-1].get("units", "")).startswith("1/")
    if isinstance(header, Mapping) and diffraction:
        instrument = dict(meta.get("Acquisition_instrument") or {})
        tem = dict(instrument.get("TEM") or {})
        length = float(header.get("magtotal", 0) or 0)
        if length and "camera_length" not in tem:
            # TVIPS keeps the camera length in magtotal in diffraction (no unit in the header)
            tem["camera_length"] = length
            tem["Detector"] = {"Diffraction": {"camera_length": length}}
        if "beam_energy" in tem:
            tem["beam_energy"] = float(tem["beam_energy"])
        instrument["TEM"] = tem
        meta["Acquisition_instrument"] = instrument
    return meta


def _original_metadata(source: ExportSource) -> dict[str, Any]:
    om = source.original_metadata
    out: dict[str, Any] = {}
    header = om.get("tvips_header")
    if isinstance(header, Mapping):
        out["tvips_header"] = {k: _attr(v) for k, v in header.items()}
    table = om.get("frame_headers")
    if isinstance(table, Mapping):
        out["frame_headers"] = {k: np.asarray(table[k]) for k in table}
    index = om.get("frame_index")
    if index is None and source.frames is not None:
        index = source.frames.index_map
    if index is not None and np.size(index) == source.n_frames:
        out["frame_index"] = np.asarray(index, dtype=np.int64).reshape(source.nav_shape)
    return out


def _write_navigator(group: Any, image: np.ndarray, axes: list[dict[str, Any]]) -> None:
    """The VBF as HyperSpy's stored navigator (a sub-signal under ``_sig_navigator``)."""
    nav = group.require_group("metadata/_HyperSpy/_sig_navigator")
    nav.array("data", image, chunks=image.shape, compressor=_compressor())
    listed = nav.require_group(f"_list_{image.ndim}_axes")
    for i, axis in enumerate(axes):
        listed.require_group(str(i)).attrs.update(_axis_attrs(axis, navigate=False))
    nav.require_group("attributes").attrs.update({"_lazy": False, "ragged": False})
    _write_tree(
        nav.require_group("metadata"),
        {"General": {"title": "Virtual bright field"}, "Signal": {"signal_type": ""}},
    )
    nav.require_group("original_metadata")
    nav.require_group("learning_results")
    nav.require_group("tmp_parameters")


@dataclass(frozen=True)
class ChunkTask:
    """Read, transform and write one chunk; return its VBF values. Picklable (for clusters)."""

    reader: TileReader
    root: str
    vbf: VirtualBrightField

    def __call__(self, key: Key) -> np.ndarray:
        """Write the chunk ``key`` of the navigation space."""
        block = self.reader(key)
        array = _zarr().open_array(_store(self.root), mode="r+", path=_DATA)
        array[key] = block
        return self.vbf(block)


def _run_on_client(
    client: Any, task: ChunkTask, keys: list[Key], progress: Callable[[int], None] | None
) -> list[np.ndarray]:
    from distributed import as_completed

    futures = client.map(task, keys, pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    out: list[Any] = [None] * len(keys)
    try:
        for fut in as_completed(futures):
            i = index[fut.key]
            out[i] = fut.result()
            if progress is not None:
                progress(tile_size(keys[i]))
    except BaseException:
        client.cancel(futures)
        raise
    return out


def write_zspy(
    source: ExportSource,
    destination: str,
    *,
    transform: Transform,
    progress: Callable[[int], None] | None = None,
    chunk_bytes: int | None = None,
    threads: int = 2,
) -> list[str]:
    """Write ``source`` after ``transform`` as a HyperSpy ``.zspy`` store at ``destination``.

    ``chunk_bytes`` overrides :data:`CHUNK_BYTES` (uncompressed bytes per chunk).

    Returns
    -------
    list of str
        ``[destination]``.
    """
    zarr = _zarr()
    nav_shape = source.nav_shape
    shape = nav_shape + transform.frame_shape
    frame_bytes = transform.frame_shape[0] * transform.frame_shape[1] * transform.dtype.itemsize
    nav_chunk = nav_chunks(nav_shape, frame_bytes, chunk_bytes or CHUNK_BYTES, square=True)
    keys = list(tiles(nav_shape, nav_chunk))
    axes = source.output_axes(transform)
    vbf = VirtualBrightField.for_export(source, transform)
    with installing([destination]) as (temp,):
        root = zarr.open_group(_store(temp), mode="w")
        root.attrs.update({"file_format": "ZSpy", "file_format_version": "3.3"})
        signal = root.require_group(_SIGNAL)
        signal.create_dataset(
            "data",
            shape=shape,
            chunks=nav_chunk + transform.frame_shape,
            dtype=transform.dtype,
            compressor=_compressor(),
            fill_value=0,
            write_empty_chunks=True,
        )
        for i, axis in enumerate(axes):
            signal.require_group(f"axis-{i}").attrs.update(
                _axis_attrs(axis, navigate=i < len(nav_shape))
            )
        signal.require_group("attributes").attrs.update({"_lazy": False, "ragged": False})
        _write_tree(signal.require_group("metadata"), _metadata(source))
        _write_tree(signal.require_group("original_metadata"), _original_metadata(source))
        signal.require_group("learning_results")
        signal.require_group("tmp_parameters")
        task = ChunkTask(source.reader(transform), temp, vbf)
        client = active_client() if source.frames is not None else None
        if client is not None:
            logger.info("writing %d chunks on the dask.distributed cluster", len(keys))
            values = _run_on_client(client, task, keys, progress)
        else:
            values = run_tiles(task, keys, threads=threads, progress=progress)
        image = np.zeros(nav_shape, dtype=np.float64)
        for key, value in zip(keys, values, strict=True):
            image[key] = value
        if 1 <= len(nav_shape) <= 2:  # HyperSpy plots 1-D and 2-D navigators
            _write_navigator(signal, image, axes[: len(nav_shape)])
    return [destination]
