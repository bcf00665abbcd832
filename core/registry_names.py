"""Image references as docker reads them (distribution/reference's grammar).

`alpine` is docker.io/library/alpine:latest; `user/app` is docker.io/user/app;
the first component is a registry host only when it has a `.` or a `:` or is
`localhost`. A reference may carry a tag, a digest (`@sha256:<hex>`) or both.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

DEFAULT_DOMAIN = "docker.io"
DEFAULT_API_HOST = "registry-1.docker.io"
# The key docker (and every credential helper) uses for Docker Hub in config.json.
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN = re.compile(r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                     r"(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# A setting for registries reached over plain HTTP besides loopback ones (docker's
# --insecure-registry): host[:port] names, comma separated.
INSECURE_ENV = "MYDOCKER_INSECURE_REGISTRIES"


class BadReference(ValueError):
    """Not a reference docker would accept; the message is docker's."""


class Reference(NamedTuple):  # not a frozen dataclass: a warm pull would pay ~10 ms for it
    domain: str
    path: str  # library/alpine, team/app
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """docker.io/library/alpine"""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_repository(self) -> str:
        """alpine, user/app, localhost:5000/team/app: how docker shows a repository."""
        if self.domain != DEFAULT_DOMAIN:
            return self.repository
        return self.path.removeprefix("library/")

    @property
    def full(self) -> str:
        return self.repository + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def familiar(self) -> str:
        """alpine:latest, or alpine@sha256:... when pulled by digest."""
        if self.digest and not self.tag:
            return f"{self.familiar_repository}@{self.digest}"
        return f"{self.familiar_repository}:{self.tag or DEFAULT_TAG}"

    @property
    def local_tag(self) -> str | None:
        """The name the local image gets (none for a pull by digest alone, as docker)."""
        return f"{self.familiar_repository}:{self.tag}" if self.tag else None

    @property
    def api_host(self) -> str:
        return DEFAULT_API_HOST if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def auth_key(self) -> str:
        return DOCKER_HUB_AUTH_KEY if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def reference(self) -> str:
        """What a manifest is fetched by: the digest when there is one, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG


def parse(text: str, default_tag: bool = True) -> Reference:
    """A reference as docker normalises it; BadReference with docker's words."""
    if not text or text != text.strip():
        raise BadReference(f"invalid reference format: {text!r}" if text else "invalid reference format")
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise BadReference(f"invalid reference format: {text}")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not _TAG.match(tag):
            raise BadReference(f"invalid reference format: {text}")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
        if not _DOMAIN.match(domain):
            raise BadReference(f"invalid reference format: {text}")
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if path.lower() != path and _PATH.match(path.lower()):
        raise BadReference(f"invalid reference format: repository name must be lowercase: {text}")
    if not _PATH.match(path) or len(f"{domain}/{path}") > 255:
        raise BadReference(f"invalid reference format: {text}")
    if tag is None and digest == "" and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest or None)


def registry_key(text: str) -> str:
    """`login`/`logout`'s SERVER argument as the key of config.json's auths map."""
    server = text.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    if server in ("", "docker.io", "index.docker.io", "registry-1.docker.io", "index.docker.io/v1"):
        return DOCKER_HUB_AUTH_KEY
    return server.split("/", 1)[0]


def api_host_of(key: str) -> str:
    return DEFAULT_API_HOST if key == DOCKER_HUB_AUTH_KEY else key


def is_plain_http(host: str) -> bool:
    """Plain HTTP only for loopback registries (as docker) and those the setting names."""
    hostname = host
    if host.startswith("["):
        hostname = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        hostname = host.split(":", 1)[0]
    if hostname == "localhost":
        return True
    import ipaddress  # here: parsing a name (every pull, run, tag) does not need it

    try:
        if ipaddress.ip_address(hostname).is_loopback:
            return True
    except ValueError:
        pass
    allowed = {h.strip() for h in os.environ.get(INSECURE_ENV, "").split(",") if h.strip()}
    return host in allowed or hostname in allowed
