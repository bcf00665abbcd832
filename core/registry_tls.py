"""TLS to a registry as docker configures it: /etc/docker/certs.d/HOST[:PORT]/.

In that directory (docker's layout, read the way docker reads it):
    *.crt           CA certificates, trusted for this registry beside the system's
    NAME.cert/.key  a client certificate and its key, presented to the registry
MYDOCKER_CERTS_D names another directory than /etc/docker/certs.d (tests, or a
user without write access to /etc).

Which scheme a registry gets: HTTPS, verified, for every registry except the
insecure ones (loopback, and those MYDOCKER_INSECURE_REGISTRIES names), which get
plain HTTP, unless a CA for them is in certs.d: then they get verified HTTPS too.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import NamedTuple

CERTS_D_ENV = "MYDOCKER_CERTS_D"
DEFAULT_CERTS_D = "/etc/docker/certs.d"


class TLSConfigError(Exception):
    pass


class TLSSettings(NamedTuple):  # not a frozen dataclass: a warm pull would pay ~10 ms for it
    ca_files: list[str] = []  # never mutated: a NamedTuple's default is shared
    client: tuple[str, str] | None = None  # (certificate, key)


def certs_dir(host: str) -> Path:
    return Path(os.environ.get(CERTS_D_ENV) or DEFAULT_CERTS_D) / host


def settings(host: str) -> TLSSettings:
    """What certs.d holds for `host` (host:port as the user wrote it)."""
    directory = certs_dir(host)
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return TLSSettings()
    except OSError as exc:
        raise TLSConfigError(f"reading {directory}: {exc.strerror or exc}") from None
    cas = [str(directory / n) for n in names if n.endswith(".crt")]
    client = None
    for name in names:
        if name.endswith(".cert"):  # docker: a .cert without its .key (or the reverse) is an error
            key = directory / (name[:-len(".cert")] + ".key")
            if not key.exists():
                raise TLSConfigError(f"missing key {key.name} for client certificate {name}")
            client = (str(directory / name), str(key))
        elif name.endswith(".key") and not (directory / (name[:-len(".key")] + ".cert")).exists():
            raise TLSConfigError(f"missing client certificate {name[:-len('.key')]}.cert for key {name}")
    return TLSSettings(cas, client)


def context(tls: TLSSettings) -> ssl.SSLContext:
    """A verifying context: the system's roots, the registry's CAs, its client pair."""
    ctx = ssl.create_default_context()
    try:
        for ca in tls.ca_files:
            ctx.load_verify_locations(cafile=ca)
        if tls.client:
            ctx.load_cert_chain(*tls.client)
    except (ssl.SSLError, OSError) as exc:
        raise TLSConfigError(f"loading TLS files for the registry: {exc}") from None
    return ctx
