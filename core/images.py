"""Image files on disk: layer directories and docker-shaped image configs.

ROOT/layers/<hex>/ holds one layer's files, named by the sha256 of a canonical
tar of it (its diff_id), so the same content is stored once. An image is its
config (kept in the log and the images projection) listing its layers, lowest
first; a container's overlay uses them as lowerdirs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


class ImageError(Exception):
    pass


def layers_dir(root: str | Path) -> Path:
    return Path(root) / "layers"


def layer_path(root: str | Path, layer: str) -> Path:
    return layers_dir(root) / layer


class _Hasher:
    """A write-only file object that only hashes what is written."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def diff_id(directory: Path) -> str:
    """sha256 of a canonical tar of the directory (sorted, times and owners fixed)."""
    hasher = _Hasher()
    with tarfile.open(fileobj=hasher, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for path in sorted(_walk(directory)):
            info = tar.gettarinfo(str(directory / path), arcname=path)
            info.mtime = 0
            info.uname = info.gname = ""
            if info.isfile():
                with open(directory / path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return "sha256:" + hasher.digest.hexdigest()


def _walk(directory: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(directory):
        rel = os.path.relpath(dirpath, directory)
        for name in dirnames + filenames:
            out.append(name if rel == "." else f"{rel}/{name}")
    return out


def directory_size(directory: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except FileNotFoundError:
                pass
    return total


def find_busybox() -> str:
    for candidate in BUSYBOX_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    raise ImageError("busybox-static is not installed on this host (apt-get install busybox-static)")


def build_busybox_layer(staging: Path) -> None:
    """Fill staging with a busybox rootfs: the static binary and every applet linked."""
    binary = find_busybox()
    applets = subprocess.run([binary, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home", "proc", "sys", "dev", "var/run", "run"):
        (staging / d).mkdir(parents=True, exist_ok=True)
    (staging / "tmp").mkdir(mode=0o1777)
    os.chmod(staging / "tmp", 0o1777)
    os.chmod(staging / "root", 0o700)
    shutil.copy2(binary, staging / "bin/busybox")
    for applet in applets:
        target = staging / applet
        if applet == "bin/busybox" or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/bin/busybox", target)
    (staging / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
    )
    (staging / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")


def store_layer(root: str | Path, staging: Path) -> tuple[str, str, int]:
    """Move a filled staging directory into the layer store; (layer name, diff_id, size)."""
    digest = diff_id(staging)
    name = digest.split(":", 1)[1]
    final = layer_path(root, name)
    size = directory_size(staging)
    if final.exists():
        shutil.rmtree(staging)  # same content is already stored
    else:
        os.rename(staging, final)
    return name, digest, size


def new_staging(root: str | Path) -> Path:
    layers_dir(root).mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=layers_dir(root)))
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would become the image's / mode
    return staging


def make_config(diff_ids: list[str], created: str, cmd: list[str], env: list[str] | None = None,
                entrypoint: list[str] | None = None, workdir: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "Cmd": cmd,
            "Entrypoint": entrypoint,
            "Env": env if env is not None else [f"PATH={DEFAULT_PATH}"],
            "WorkingDir": workdir,
            **extra,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }


def image_id(config: dict[str, Any]) -> str:
    """As docker: the sha256 of the config JSON."""
    raw = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def remove_layer(root: str | Path, layer: str) -> None:
    shutil.rmtree(layer_path(root, layer), ignore_errors=True)
