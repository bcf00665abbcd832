"""Image files on disk: layer directories and docker-shaped image configs.

ROOT/layers/<hex>/ holds one layer's files, named by the sha256 of a canonical
tar of it (its diff_id), so the same content is stored once. An image is its
config (kept in the log and the images projection) listing its layers, lowest
first; a container's overlay uses them as lowerdirs.
"""

from __future__ import annotations

import json
import os
import stat
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
        import hashlib

        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def diff_id(directory: Path) -> str:
    """sha256 of a canonical tar of the directory (sorted, times and owners fixed)."""
    hasher = _Hasher()
    write_tree(directory, hasher, canonical=True)
    return "sha256:" + hasher.digest.hexdigest()


def write_tree(directory: Path, fileobj: Any, canonical: bool = True) -> None:
    """A tar of the directory in docker's layer format: overlayfs whiteouts (0:0
    character devices) become `.wh.NAME` files and opaque directories get a
    `.wh..wh..opq` entry. canonical: times and owner names zeroed (a layer's
    diff_id must not depend on when it was made)."""
    import tarfile  # local, as every heavy import here: `run` must not pay for them

    from mydocker.core.safetar import OPAQUE_MARKER, WHITEOUT_PREFIX

    directory = Path(directory)
    with tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(_walk(directory)):
            full = directory / path
            st = os.lstat(full)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                head, _, name = path.rpartition("/")
                info = tarfile.TarInfo(f"{head}/{WHITEOUT_PREFIX}{name}" if head else f"{WHITEOUT_PREFIX}{name}")
                info.mode = 0o600
                info.mtime = 0 if canonical else int(st.st_mtime)
                tar.addfile(info)
                continue
            info = tar.gettarinfo(str(full), arcname=path)
            if info is None:
                continue  # a socket: nothing a tar can carry
            if canonical:
                info.mtime = 0
                info.uname = info.gname = ""
            if info.isfile():
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            if info.isdir() and _is_opaque(full):
                marker = tarfile.TarInfo(f"{path}/{OPAQUE_MARKER}")
                marker.mode = 0o600
                tar.addfile(marker)


def _is_opaque(path: Path) -> bool:
    from mydocker.core.safetar import OPAQUE_XATTR

    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _walk(directory: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(directory):
        rel = os.path.relpath(dirpath, directory)
        for name in dirnames + filenames:
            out.append(name if rel == "." else f"{rel}/{name}")
    return out


def directory_size(directory: str | Path) -> int:
    """Bytes of the files under directory (links not followed); what vanishes
    meanwhile counts as nothing. Layers, writable layers and volumes alike."""
    total = 0
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def find_busybox() -> str:
    for candidate in BUSYBOX_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    raise ImageError("busybox-static is not installed on this host (apt-get install busybox-static)")


def busybox_created() -> str:
    """The default image's creation time: the host binary's mtime, not now, so that
    building it again (after `rmi busybox`, or in another root) gives the same config
    and so the same image id for as long as the host's busybox is the same."""
    from datetime import UTC, datetime

    mtime = os.stat(find_busybox()).st_mtime
    return datetime.fromtimestamp(int(mtime), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_busybox_layer(staging: Path) -> None:
    """Fill staging with a busybox rootfs: the static binary and every applet linked."""
    import shutil
    import subprocess

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
    _install(staging, final)
    return name, digest, size


def _install(staging: Path, final: Path) -> None:
    import shutil

    if final.exists():
        shutil.rmtree(staging)  # same content is already stored
        return
    try:
        os.rename(staging, final)
    except OSError:  # a racing command stored the same layer first
        shutil.rmtree(staging)
        if not final.exists():
            raise


def new_staging(root: str | Path) -> Path:
    import tempfile

    layers_dir(root).mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=layers_dir(root)))
    os.chmod(staging, 0o755)  # mkdtemp's 0700 would become the image's / mode
    return staging


def host_architecture() -> str:
    """The host's architecture as image configs and OCI platforms name it (GOARCH)."""
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def make_config(diff_ids: list[str], created: str, cmd: list[str] | None, env: list[str] | None = None,
                entrypoint: list[str] | None = None, workdir: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "architecture": host_architecture(),
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
    import hashlib

    return "sha256:" + hashlib.sha256(canonical_json(config)).hexdigest()


def remove_layer(root: str | Path, layer: str) -> None:
    import shutil

    shutil.rmtree(layer_path(root, layer), ignore_errors=True)
    # the tar a load kept, the compressed blob a pull or push kept (core/layers.py)
    for kept in (layer_tar_path(root, layer), layers_dir(root) / f"{layer}.blob.json",
                 layers_dir(root) / f"{layer}.blob"):
        try:
            os.unlink(kept)
        except FileNotFoundError:
            pass


def configs_dir(root: str | Path) -> Path:
    return Path(root) / "imagedb"


def store_config(root: str | Path, raw: bytes) -> str:
    """Keep an image's config bytes as given (docker's id is their sha256, and a
    `save` must reproduce them exactly); returns the image id."""
    import hashlib
    import tempfile

    digest = hashlib.sha256(raw).hexdigest()
    configs_dir(root).mkdir(mode=0o700, exist_ok=True)
    path = configs_dir(root) / digest
    if not path.exists():
        # a temp name of our own: two pulls of one image store the same config at once
        fd, tmp = tempfile.mkstemp(prefix=f".{digest}.", dir=configs_dir(root))
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    return "sha256:" + digest


def config_bytes(root: str | Path, image: str, config: dict[str, Any]) -> bytes:
    """The stored bytes of an image's config, or its canonical form (images made
    before configs were kept have id == sha256 of exactly that)."""
    path = configs_dir(root) / image.split(":", 1)[-1]
    if path.exists():
        return path.read_bytes()
    return canonical_json(config)


def canonical_json(config: dict[str, Any]) -> bytes:
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def remove_config(root: str | Path, image: str) -> None:
    try:
        os.unlink(configs_dir(root) / image.split(":", 1)[-1])
    except FileNotFoundError:
        pass


def layer_tar_path(root: str | Path, layer: str) -> Path:
    """The original tar of a loaded layer whose content our canonical tar does not
    reproduce byte for byte; kept so `save` emits what the diff_id names."""
    return layers_dir(root) / f"{layer}.tar"


def import_layer(root: str | Path, fileobj: Any) -> tuple[str, str, int]:
    """A plain rootfs tarball (gzip or not) as one new layer; (name, diff_id, size)."""
    import shutil

    from mydocker.core import safetar

    staging = new_staging(root)
    try:
        safetar.extract(fileobj, staging, whiteouts="skip")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return store_layer(root, staging)


class _CountingWriter:
    def __init__(self, f: Any, report: Any) -> None:
        self.f, self.report, self.done = f, report, 0

    def write(self, data: bytes) -> int:
        self.done += len(data)
        self.report(self.done)
        return self.f.write(data)


def commit_layer(root: str | Path, upper: Path, progress: Any = None) -> tuple[str, str, int]:
    """A container's upper dir as a new layer: through our tar writer and the safe
    extractor, so deletions stay whiteouts and only what a layer may hold lands.
    progress: called with the bytes of tar written so far."""
    import shutil
    import tempfile

    from mydocker.core import safetar

    staging = new_staging(root)
    try:
        with tempfile.TemporaryFile(dir=layers_dir(root)) as tmp:
            write_tree(upper, _CountingWriter(tmp, progress) if progress else tmp, canonical=True)
            tmp.seek(0)
            safetar.extract(tmp, staging, whiteouts="overlay")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return store_layer(root, staging)
