"""TLS to a registry as docker configures it (certs.d/HOST:PORT/ca.crt, client.cert
and client.key): a real docker-registry serving TLS on 127.0.0.1, with a CA, a
server certificate and a client certificate made here by openssl."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.registry_server import Registry

if not shutil.which("docker-registry") or not shutil.which("openssl"):
    pytest.skip("docker-registry and openssl are installed by `make test`", allow_module_level=True)


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(d: Path) -> None:
    """ca.{key,crt}; server.{key,crt} for IP 127.0.0.1; client.{key,crt}; all signed by the CA."""
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mydocker test CA",
            "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, cn in (("server", "127.0.0.1"), ("client", "mydocker test client")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", str(d / f"{name}.key"),
                "-out", str(d / f"{name}.csr"))
        extra = ["-extfile", str(d / "san.ext")] if name == "server" else []
        openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
                "-CAcreateserial", "-days", "2", "-out", str(d / f"{name}.crt"), *extra)


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("tlsreg")
    make_pki(base / "pki")
    pki = base / "pki"
    reg = Registry(base / "registry", tls=(pki / "server.crt", pki / "server.key", pki / "ca.crt"))
    yield reg, pki, base
    reg.stop()


def test_certs_d_ca_and_client_certificate(md, tls_registry) -> None:
    reg, pki, base = tls_registry
    certs_d = base / "certs.d"
    md.env["MYDOCKER_CERTS_D"] = str(certs_d)
    md.env["DOCKER_CONFIG"] = str(base / "dockercfg")
    name = f"{reg.host}/tls/bb:1"
    md.ok("tag", "busybox", name)

    # no CA for a loopback registry: plain HTTP, which a TLS server refuses
    assert md("push", name).code == 1

    host_dir = certs_d / reg.host
    host_dir.mkdir(parents=True)
    shutil.copy(pki / "ca.crt", host_dir / "ca.crt")
    # the CA but no client certificate: the server demands one
    refused = md("push", name)
    assert refused.code == 1
    assert "remote error: tls:" in refused.err and "Traceback" not in refused.err
    assert len(refused.err.strip().splitlines()) == 1

    shutil.copy(pki / "client.crt", host_dir / "client.cert")
    shutil.copy(pki / "client.key", host_dir / "client.key")
    out = md.ok("push", name)
    digest = out.split("digest: ")[1].split()[0]
    md.ok("rmi", name)
    pulled = md.ok("pull", name)
    assert f"Digest: {digest}" in pulled
    assert md.ok("pull", name).splitlines()[-2] == f"Status: Image is up to date for {name}"

    # a CA that did not sign the server's certificate: docker's x509 error, one line
    other = base / "other"
    other.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=another CA",
            "-keyout", str(other / "ca.key"), "-out", str(other / "ca.crt"))
    shutil.copy(other / "ca.crt", host_dir / "ca.crt")
    wrong = md("pull", name)
    assert wrong.code == 1
    assert "x509: certificate signed by unknown authority" in wrong.err
    assert len(wrong.err.strip().splitlines()) == 1

    # a client certificate without its key: a clear error
    shutil.copy(pki / "ca.crt", host_dir / "ca.crt")
    (host_dir / "client.key").unlink()
    broken = md("pull", name)
    assert broken.code == 1 and "missing key client.key" in broken.err
