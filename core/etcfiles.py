"""/etc/hosts, /etc/resolv.conf and /etc/hostname for a container.

The monitor writes them into the container's directory once the network is set
up (the address is known only then); the init bind-mounts them over the image's
files, as docker does, so they never land in the image layers and each start
gets fresh ones.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mydocker.core.locks import flocked

FILES = ("hosts", "resolv.conf", "hostname")
HOST_RESOLV = Path("/etc/resolv.conf")
FALLBACK_DNS = ["8.8.8.8", "8.8.4.4"]  # docker's, when the host only has a local resolver
_LOOPBACK_NS = re.compile(r"^\s*nameserver\s+(127\.|::1\b)")


def own_names(hostname: str, domainname: str = "") -> list[str]:
    """The container's own names in /etc/hosts: with --domainname the FQDN first,
    as docker writes it, so `hostname -f` and `hostname -d` answer."""
    return [f"{hostname}.{domainname}", hostname] if domainname else [hostname]


def hosts_text(names: list[str], ip: str | None, extra_hosts: list[str] | tuple[str, ...] = (),
               peers: list[tuple[str, list[str]]] | tuple[()] = ()) -> str:
    """peers: (ip, names) of the other live containers on the same user-defined
    network, so their names and aliases resolve (statemachine.name_resolution)."""
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
    ]
    for entry in extra_hosts:  # --add-host HOST:IP, before the container's own line as docker
        host, _, address = entry.partition(":")
        lines.append(f"{address}\t{host}")
    # hostname, short id and name, each once (the hostname is the short id by default)
    lines.append(f"{ip or '127.0.0.1'}\t{' '.join(dict.fromkeys(names))}")
    lines += [f"{peer_ip}\t{' '.join(dict.fromkeys(peer_names))}" for peer_ip, peer_names in peers]
    return "\n".join(lines) + "\n"


@contextmanager
def held(path: Path) -> Iterator[None]:
    """An exclusive flock on the file, for read-the-log-then-write: it goes away
    with the container's directory, where a lock file would stay behind."""
    with flocked(path, 0o644):
        yield


def rewrite_in_place(path: Path, text: str) -> None:
    """A running container sees its /etc/hosts through a bind mount of this very
    inode: replace the content, not the file (a rename would leave it the old one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        data, offset = text.encode(), 0
        os.ftruncate(fd, 0)
        while offset < len(data):
            offset += os.pwrite(fd, data[offset:], offset)
    finally:
        os.close(fd)


def resolv_text(host_resolv: str, own_network_stack: bool, etc: dict[str, list[str]] | None = None) -> str:
    """The host's resolv.conf; in a network namespace a loopback resolver
    (systemd-resolved's 127.0.0.53) cannot be reached, so drop it as docker does.
    --dns, --dns-search and --dns-option replace the host's lines of that kind."""
    etc = etc or {}
    if etc.get("dns") or etc.get("dns_search") or etc.get("dns_options"):
        return _custom_resolv(host_resolv, etc)
    if not own_network_stack:
        return host_resolv
    kept = [line for line in host_resolv.splitlines() if not _LOOPBACK_NS.match(line)]
    if not any(line.strip().startswith("nameserver") for line in kept):
        kept += [f"nameserver {ns}" for ns in FALLBACK_DNS]
    return "\n".join(kept) + "\n"


def _custom_resolv(host_resolv: str, etc: dict[str, list[str]]) -> str:
    lines = host_resolv.splitlines()

    def kept(word: str) -> list[str]:
        return [line for line in lines if line.split()[:1] == [word]]

    search = ["search " + " ".join(etc["dns_search"])] if etc.get("dns_search") else kept("search")
    servers = [f"nameserver {ns}" for ns in etc.get("dns") or []] or [
        line for line in kept("nameserver") if not _LOOPBACK_NS.match(line)] or [
        f"nameserver {ns}" for ns in FALLBACK_DNS]
    options = ["options " + " ".join(etc["dns_options"])] if etc.get("dns_options") else kept("options")
    return "\n".join(search + servers + options) + "\n"


def embedded_resolv(text: str) -> tuple[str, list[str]]:
    """docker's resolv.conf on a user-defined network: the embedded server
    (core.dnsserver) instead of text's nameservers, which become its upstreams
    (IPv4 ones: it forwards over IPv4); search and options kept, ndots:0 added."""
    lines = text.splitlines()
    upstreams = [line.split()[1] for line in lines if line.split()[:1] == ["nameserver"] and len(line.split()) > 1
                 and ":" not in line.split()[1]]
    options = [word for line in lines if line.split()[:1] == ["options"] for word in line.split()[1:]]
    if not any(word.startswith("ndots:") for word in options):
        options.append("ndots:0")
    kept = [line for line in lines if line.split()[:1] == ["search"]]
    return "\n".join([*kept, "nameserver 127.0.0.11", "options " + " ".join(options)]) + "\n", upstreams


def write(directory: Path, hostname: str, names: list[str], ip: str | None, own_network_stack: bool,
          etc: dict[str, list[str]] | None = None, domainname: str = "", embedded_dns: bool = False) -> list[str]:
    """Returns, with embedded_dns, the servers the embedded one forwards to."""
    try:
        host_resolv = HOST_RESOLV.read_text()
    except OSError:
        host_resolv = ""
    resolv = resolv_text(host_resolv, own_network_stack, etc)
    upstreams: list[str] = []
    if embedded_dns:
        resolv, upstreams = embedded_resolv(resolv)
    contents = {
        "hosts": hosts_text([*own_names(hostname, domainname), *names], ip, (etc or {}).get("extra_hosts") or ()),
        "resolv.conf": resolv,
        "hostname": hostname + "\n",
    }
    for file, text in contents.items():
        path = directory / file
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o644)
        tmp.replace(path)
    return upstreams
