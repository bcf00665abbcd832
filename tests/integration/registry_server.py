"""Real registries for the tests: Debian's docker-registry (the reference
distribution server) on 127.0.0.1 and a free port, with its storage in the
test's tmp dir; and a small front written here that puts the bearer-token flow
(and injected faults) before it. Both stop with the test; nothing outside the
tmp dir is touched, and no traffic leaves 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import socket
import subprocess
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, tmp: Path, users: dict[str, str] | None = None,
                 tls: tuple[Path, Path, Path | None] | None = None) -> None:
        """tls: (server certificate, its key, CA whose client certificates it demands or None)."""
        tmp.mkdir(parents=True, exist_ok=True)
        self.storage = tmp / "storage"
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        lines = ["version: 0.1", "log:", "  level: error", "storage:", "  filesystem:",
                 f"    rootdirectory: {self.storage}", "  delete:", "    enabled: true",
                 "http:", f"  addr: {self.host}"]
        if tls:
            lines += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
            if tls[2]:
                lines += ["    clientcas:", f"      - {tls[2]}"]
        if users:
            htpasswd = tmp / "htpasswd"
            htpasswd.write_text("".join(
                subprocess.run(["htpasswd", "-Bbn", u, p], capture_output=True, text=True, check=True).stdout.strip()
                + "\n" for u, p in users.items()))
            lines += ["auth:", "  htpasswd:", "    realm: test", f"    path: {htpasswd}"]
        self.lines, self.tmp = lines, tmp
        for _ in range(5):  # another process may take the free port before the registry binds it
            if self._start():
                return
            self.port = free_port()
            self.host = f"127.0.0.1:{self.port}"
            self.lines = [line if not line.startswith("  addr:") else f"  addr: {self.host}" for line in self.lines]
        raise RuntimeError(f"docker-registry did not start: {(tmp / 'registry.log').read_text()}")

    def _start(self) -> bool:
        config = self.tmp / "config.yml"
        config.write_text("\n".join(self.lines) + "\n")
        self.log = open(self.tmp / "registry.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60  # a loaded 2-CPU machine can be slow to start it
        while True:
            try:
                requests.get(f"http://{self.host}/v2/", timeout=2)
                time.sleep(0.2)  # an answer from whoever took the port first: ours exits on bind
                if self.proc.poll() is None:
                    return True
                self.stop()
                return False
            except requests.RequestException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    return False
                time.sleep(0.05)

    def blob_file(self, digest: str) -> Path:
        hexpart = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Front:
    """A proxy before a Registry. token=True: it demands the bearer-token flow
    (WWW-Authenticate: Bearer realm=<its /token>,service,scope) and checks the
    user's password at /token. Faults: truncate blob bodies, or send them slowly."""

    def __init__(self, backend: Registry, token: bool = False, users: dict[str, str] | None = None) -> None:
        self.backend = backend
        self.token = token
        self.users = users or {}
        self.truncate = False
        self.delay = 0.0  # seconds per 64 KiB of blob
        self.token_requests: list[dict[str, str]] = []
        self.blob_gets: list[tuple[str, str]] = []  # (path, Range header)
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.tokens: dict[str, str] = {}  # token -> scope granted
        self.lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                front.handle(self)

            do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        with self.lock:
            self.requests.append((h.command, url.path))
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        if url.path == "/token":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with self.lock:
                self.token_requests.append(query)
            user, password = "", ""
            auth = h.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                if self.users.get(user) != password:
                    self._send(h, 401, b'{"details":"incorrect username or password"}', {})
                    return
            token = hashlib.sha256(f"{user}{time.time()}{len(self.tokens)}".encode()).hexdigest()
            with self.lock:
                self.tokens[token] = query.get("scope", "")
            self._send(h, 200, json.dumps({"token": token}).encode(), {"Content-Type": "application/json"})
            return
        if self.token:
            given = h.headers.get("Authorization", "").removeprefix("Bearer ")
            match = re.match(r"^/v2/(.+?)/(?:manifests|blobs|tags)/", url.path)
            repo = match.group(1) if match else ""
            if given not in self.tokens or (repo and f"repository:{repo}:" not in self.tokens[given]):
                scope = f',scope="repository:{repo}:pull,push"' if repo else ""
                challenge = f'Bearer realm="http://{self.host}/token",service="test-registry"{scope}'
                self._send(h, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                           {"WWW-Authenticate": challenge, "Content-Type": "application/json"})
                return
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("authorization", "host", "content-length")}
        headers["Host"] = self.host
        is_blob = h.command == "GET" and "/blobs/sha256:" in url.path
        if is_blob:
            with self.lock:
                self.blob_gets.append((url.path, h.headers.get("Range", "")))
        answer = requests.request(h.command, f"http://{self.backend.host}{h.path}", data=body or None,
                                  headers=headers, stream=True, allow_redirects=False, timeout=30)
        with answer:
            h.send_response(answer.status_code)
            for k, v in answer.headers.items():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    h.send_header(k, v)
            data = b"" if h.command == "HEAD" else answer.raw.read(decode_content=False)
            h.send_header("Content-Length", answer.headers.get("Content-Length", str(len(data))))
            h.end_headers()
            if h.command == "HEAD":
                return
            if is_blob and self.truncate and len(data) > 65536:  # layers, not configs
                h.wfile.write(data[: len(data) // 2])
                h.close_connection = True
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
                return
            for i in range(0, len(data), 65536):
                if is_blob and self.delay:
                    time.sleep(self.delay)
                h.wfile.write(data[i:i + 65536])


# --- OCI layouts for skopeo: images made here, byte for byte ----------------------


def tar_of(files: dict[str, bytes | str], symlinks: dict[str, str] | None = None, dirs: list[str] | None = None,
           mode: int = 0o755) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in dirs or []:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in files.items():
            payload = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(payload), mode, 1_700_000_000
            tar.addfile(info, io.BytesIO(payload))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return raw.getvalue()


class Layout:
    """An OCI image layout on disk, to be copied to a registry with skopeo."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        (directory / "blobs/sha256").mkdir(parents=True, exist_ok=True)
        (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        self.index: list[dict] = []

    def blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (self.dir / "blobs/sha256" / digest).write_bytes(data)
        return f"sha256:{digest}"

    def image(self, layer_tars: list[bytes], compression: list[str] | None = None, arch: str = "amd64",
              cmd: list[str] | None = None) -> dict:
        """An image manifest; returns its descriptor (with platform)."""
        import gzip

        import zstandard

        descriptors, diff_ids = [], []
        for i, tar in enumerate(layer_tars):
            how = (compression or [])[i] if compression and i < len(compression) else "gzip"
            diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
            if how == "gzip":
                blob, media = gzip.compress(tar, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
            elif how == "zstd":
                blob, media = zstandard.ZstdCompressor().compress(tar), "application/vnd.oci.image.layer.v1.tar+zstd"
            else:
                blob, media = tar, "application/vnd.oci.image.layer.v1.tar"
            descriptors.append({"mediaType": media, "digest": self.blob(blob), "size": len(blob)})
        config = json.dumps({"architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
                             "config": {"Env": ["PATH=/bin"], "Cmd": cmd or ["sh"]},
                             "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": self.blob(config), "size": len(config)},
                               "layers": descriptors}).encode()
        return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": self.blob(manifest),
                "size": len(manifest), "platform": {"architecture": arch, "os": "linux"}}

    def tag(self, name: str, descriptor: dict) -> None:
        self.index.append({**descriptor, "annotations": {"org.opencontainers.image.ref.name": name}})
        self._write()

    def tag_index(self, name: str, manifests: list[dict]) -> str:
        nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                             "manifests": manifests}).encode()
        digest = self.blob(nested)
        self.tag(name, {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest,
                        "size": len(nested)})
        return digest

    def _write(self) -> None:
        (self.dir / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.index}))

    def copy(self, name: str, registry_host: str, repo: str, all_platforms: bool = False) -> None:
        subprocess.run(["skopeo", "copy", "--quiet", *(["--all"] if all_platforms else []),
                        "--dest-tls-verify=false", "--preserve-digests",
                        f"oci:{self.dir}:{name}", f"docker://{registry_host}/{repo}"],
                       check=True, capture_output=True, timeout=120)
