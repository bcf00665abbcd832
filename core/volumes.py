"""Named volumes on disk: ROOT/volumes/<name>/_data, docker's layout."""

from __future__ import annotations

from pathlib import Path


def volumes_dir(root: str | Path) -> Path:
    return Path(root) / "volumes"


def data_dir(root: str | Path, name: str) -> Path:
    return volumes_dir(root) / name / "_data"


def make(root: str | Path, name: str) -> Path:
    """Create the volume's directory (already there is fine: idempotent)."""
    volumes_dir(root).mkdir(mode=0o700, exist_ok=True)
    (volumes_dir(root) / name).mkdir(mode=0o700, exist_ok=True)
    data = data_dir(root, name)
    # 0755 like docker's: the container's non-root users must be able to enter it.
    data.mkdir(mode=0o755, exist_ok=True)
    return data


def remove(root: str | Path, name: str) -> None:
    """Delete the volume's data; already gone is success."""
    import shutil

    shutil.rmtree(volumes_dir(root) / name, ignore_errors=True)


