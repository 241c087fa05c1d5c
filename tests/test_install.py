"""Atomic installation of files and directories (``napari_tvips._install.installing``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from napari_tvips._install import installing


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` (hidden ones too): file bytes, ``None`` for directories."""
    out: dict[str, bytes | None] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = None if p.is_dir() and not p.is_symlink() else p.read_bytes()
    return out


def _write_store(path: str, tag: bytes) -> None:
    """A small zarr-like directory store: nested folders and files."""
    os.mkdir(path)
    os.mkdir(os.path.join(path, "data"))
    Path(path, ".zgroup").write_bytes(b'{"zarr_format": 2}' + tag)
    for i in range(3):
        Path(path, "data", f"{i}.0").write_bytes(tag * (i + 1))


def _fail_after(real, exc: BaseException, after: int):
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > after:
            raise exc
        return real(*args, **kwargs)

    wrapped.calls = calls
    return wrapped


@pytest.fixture
def old(tmp_path: Path) -> tuple[Path, dict[str, bytes | None]]:
    """A folder holding an old store ``x.zspy``, an old file ``x.blo`` and a stale ``x_001``."""
    folder = tmp_path / "out"
    folder.mkdir()
    _write_store(str(folder / "x.zspy"), b"old")
    (folder / "x.blo").write_bytes(b"old blockfile")
    (folder / "x_001.tvips").write_bytes(b"stale part")
    return folder, _tree(folder)


def test_files_and_directories_installed_and_stale_removed(old) -> None:
    folder, _before = old
    targets = [folder / "x.zspy", folder / "x.blo", folder / "new.zspy"]
    with installing(targets, stale=[folder / "x_001.tvips"]) as temps:
        assert [os.path.dirname(t) for t in temps] == [str(folder)] * 3
        assert all(os.path.basename(t).startswith(".") for t in temps)
        assert not any(os.path.lexists(t) for t in temps)
        _write_store(temps[0], b"new")
        Path(temps[1]).write_bytes(b"new blockfile")
        _write_store(temps[2], b"other")
    after = _tree(folder)
    assert sorted(p for p in after if "/" not in p) == ["new.zspy", "x.blo", "x.zspy"]
    assert after["x.zspy/data/2.0"] == b"newnewnew"
    assert after["x.zspy/.zgroup"].endswith(b"new")
    assert after["x.blo"] == b"new blockfile"
    assert after["new.zspy/data/0.0"] == b"other"


def test_trailing_separator_names_the_directory(tmp_path: Path) -> None:
    with installing([f"{tmp_path}/s.zspy/"]) as temps:
        assert os.path.dirname(temps[0]) == str(tmp_path)
        _write_store(temps[0], b"a")
    assert (tmp_path / "s.zspy" / "data" / "0.0").read_bytes() == b"a"


def test_a_directory_replaces_a_file_and_a_file_a_directory(old) -> None:
    folder, _before = old
    with installing([folder / "x.zspy", folder / "x.blo"]) as temps:
        Path(temps[0]).write_bytes(b"now a file")
        _write_store(temps[1], b"now a store")
    assert (folder / "x.zspy").read_bytes() == b"now a file"
    assert (folder / "x.blo" / "data" / "0.0").read_bytes() == b"now a store"
    assert sorted(p.name for p in folder.iterdir()) == ["x.blo", "x.zspy", "x_001.tvips"]


@pytest.mark.parametrize("exc", [RuntimeError("injected"), KeyboardInterrupt()], ids=repr)
def test_exception_while_writing_a_store_keeps_the_old_one(old, exc) -> None:
    folder, before = old
    with (
        pytest.raises(type(exc)),
        installing([folder / "x.zspy"], stale=[folder / "x_001.tvips"]) as temps,
    ):
        _write_store(temps[0], b"half")
        raise exc
    assert _tree(folder) == before


@pytest.mark.parametrize("exc", [OSError(5, "Input/output error"), KeyboardInterrupt()], ids=repr)
@pytest.mark.parametrize("after", [0, 1, 2])
@pytest.mark.parametrize("links", [True, False], ids=["links", "no-links"])
def test_failure_while_installing_restores_files_and_directories(
    old, monkeypatch, exc, after, links
) -> None:
    """The 1st, 2nd or 3rd rename fails after the others went in: every old target comes back."""
    folder, before = old
    if not links:
        monkeypatch.setattr(os, "link", _fail_after(os.link, OSError(1, os.strerror(1)), 0))
    replace = _fail_after(os.replace, exc, after)
    monkeypatch.setattr(os, "replace", replace)
    targets = [folder / "x.blo", folder / "x.zspy", folder / "y.zspy"]
    with pytest.raises(type(exc)), installing(targets, stale=[folder / "x_001.tvips"]) as temps:
        Path(temps[0]).write_bytes(b"new blockfile")
        _write_store(temps[1], b"new")
        _write_store(temps[2], b"new y")
    assert replace.calls["n"] == after + 1
    monkeypatch.undo()
    assert _tree(folder) == before


def test_failure_keeping_a_directory_aside_restores(old, monkeypatch) -> None:
    """Moving the old store aside fails after the old file was moved aside: both stay."""
    folder, before = old
    monkeypatch.setattr(os, "link", _fail_after(os.link, OSError(1, os.strerror(1)), 0))
    real_rename, calls = os.rename, []

    def rename_once_denied(src, dst):  # the 2nd rename (the store) fails, restoring works
        calls.append(src)
        if len(calls) == 2:
            raise OSError(13, "denied")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename_once_denied)
    with (
        pytest.raises(OSError, match="denied"),
        installing([folder / "x.blo", folder / "x.zspy"]) as temps,
    ):
        Path(temps[0]).write_bytes(b"new")
        _write_store(temps[1], b"new")
    monkeypatch.undo()
    assert _tree(folder) == before


def test_a_temporary_never_created_installs_nothing(old) -> None:
    folder, before = old
    with (
        pytest.raises(FileNotFoundError, match=r"x\.zspy"),
        installing([folder / "x.blo", folder / "x.zspy"]) as temps,
    ):
        Path(temps[0]).write_bytes(b"new")
    assert _tree(folder) == before


def test_stale_removal_failure_warns_after_installing(old, monkeypatch) -> None:
    folder, _before = old
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if str(path).endswith("x_001.tvips"):
            raise OSError(16, "busy")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    warns = pytest.warns(UserWarning, match=r"could not remove old .*x_001\.tvips.*busy")
    with warns, installing([folder / "x.blo"], stale=[folder / "x_001.tvips"]) as temps:
        Path(temps[0]).write_bytes(b"new")
    monkeypatch.undo()
    assert (folder / "x.blo").read_bytes() == b"new"
    assert sorted(p.name for p in folder.iterdir()) == ["x.blo", "x.zspy", "x_001.tvips"]


def test_stale_directory_removed(old) -> None:
    folder, _before = old
    with installing([folder / "x.blo"], stale=[folder / "x.zspy", folder / "gone"]) as temps:
        Path(temps[0]).write_bytes(b"new")
    assert sorted(p.name for p in folder.iterdir()) == ["x.blo", "x_001.tvips"]


def test_symlinked_target_replaced_not_followed(tmp_path: Path) -> None:
    real = tmp_path / "real.blo"
    real.write_bytes(b"elsewhere")
    (tmp_path / "link.blo").symlink_to(real)
    with installing([tmp_path / "link.blo"]) as temps:
        Path(temps[0]).write_bytes(b"new")
    assert not (tmp_path / "link.blo").is_symlink()
    assert (tmp_path / "link.blo").read_bytes() == b"new"
    assert real.read_bytes() == b"elsewhere"


def test_duplicate_targets_refused(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match="duplicate"),
        installing([tmp_path / "a", f"{tmp_path}/a/"]),
    ):
        pass
    assert list(tmp_path.iterdir()) == []
